// The compose model: parsing both syntaxes, interpolation, .env, names,
// dependency order, and errors that name file, line and key.
#include "compose/model.h"

#include <gtest/gtest.h>

#include <map>

#include "expect_error.h"

using namespace mctr::compose;

namespace {

Lookup vars(std::map<std::string, std::string> m) {
  return [m](const std::string& k) -> std::optional<std::string> {
    auto it = m.find(k);
    if (it == m.end()) return std::nullopt;
    return it->second;
  };
}

Project parse(const std::string& yaml, std::map<std::string, std::string> env = {}) {
  return parse_project(yaml, "compose.yaml", "/srv/My App", "", vars(std::move(env)));
}

}  // namespace

TEST(ComposeInterpolate, Forms) {
  auto l = vars({{"A", "x"}, {"E", ""}});
  EXPECT_EQ(interpolate("${A}-$A-${A:-d}", l), "x-x-x");
  EXPECT_EQ(interpolate("${B:-def}/${B-def2}", l), "def/def2");
  EXPECT_EQ(interpolate("${E:-d}|${E-d}", l), "d|");  // ':' treats empty as unset
  EXPECT_EQ(interpolate("${A:+alt}${B:+alt}", l), "alt");
  EXPECT_EQ(interpolate("$$A cost $5", l), "$A cost $5");
  EXPECT_EQ(interpolate("${B:-${A}y}", l), "xy");  // a default with a variable in it
  std::string warned;
  EXPECT_EQ(interpolate("[${NOPE}]", l, [&](const std::string& v) { warned = v; }), "[]");
  EXPECT_EQ(warned, "NOPE");
  EXPECT_ERROR(interpolate("${B:?set B please}", l), "required variable B is missing a value: set B please");
  EXPECT_ERROR(interpolate("${A", l), "no closing }");
  EXPECT_ERROR(interpolate("${1A}", l), "bad variable name");
}

TEST(ComposeInterpolate, Dotenv) {
  auto m = parse_dotenv("# c\nA=1\nexport B = two words  # note\nC=\"q\\\"x\\ny\"\nD='$lit'\n\nE=\n", ".env");
  EXPECT_EQ(m.at("A"), "1");
  EXPECT_EQ(m.at("B"), "two words");
  EXPECT_EQ(m.at("C"), "q\"x\ny");
  EXPECT_EQ(m.at("D"), "$lit");
  EXPECT_EQ(m.at("E"), "");
  EXPECT_ERROR(parse_dotenv("A=1\nnot a line\n", "/p/.env"), "/p/.env:2: invalid line");
  EXPECT_ERROR(parse_dotenv("A=\"open\n", ".env"), ".env:1: unterminated quote");
}

TEST(ComposeModel, ProjectNames) {
  EXPECT_EQ(project_name("My App.v2", true), "myappv2");
  EXPECT_EQ(project_name("_x", true), "x");
  EXPECT_EQ(project_name("demo_1-a", false), "demo_1-a");
  EXPECT_ERROR(project_name("Demo", false), "invalid project name \"Demo\"");
  EXPECT_ERROR(project_name("-x", false), "invalid project name");
  EXPECT_EQ(parse("services: {a: {image: busybox}}").name, "myapp");  // from the directory
  EXPECT_EQ(parse("name: given\nservices: {a: {image: busybox}}").name, "given");
  EXPECT_EQ(parse("name: given\nservices: {a: {image: busybox}}", {{"COMPOSE_PROJECT_NAME", "env"}}).name,
            "env");
  EXPECT_EQ(parse_project("name: given\nservices: {a: {image: b}}", "f", "/d", "flag", vars({})).name,
            "flag");
}

TEST(ComposeModel, ServiceShortSyntax) {
  const Project p = parse(R"(
services:
  web:
    image: busybox:${TAG:-latest}
    command: httpd -f -p "8080" -h '/w w'
    entrypoint: ["/bin/sh", "-c"]
    environment:
      A: 1
      B:
      C: "${X}"
    ports: ["8080:80", "127.0.0.1:9090:90/udp", 7000]
    expose: ["80"]
    volumes: ["data:/data", "./site:/www:ro", "/abs:/abs"]
    mem_limit: 256m
    cpus: 0.5
    restart: on-failure:3
    tty: true
    labels: [a=b]
volumes:
  data:
)",
                          {{"X", "from env"}});
  const Service& w = p.service("web");
  EXPECT_EQ(w.image, "busybox:latest");
  EXPECT_EQ(*w.command, (std::vector<std::string>{"httpd", "-f", "-p", "8080", "-h", "/w w"}));
  EXPECT_EQ(*w.entrypoint, (std::vector<std::string>{"/bin/sh", "-c"}));
  EXPECT_EQ(w.environment, (std::vector<std::string>{"A=1", "B", "C=from env"}));
  EXPECT_EQ(w.ports, (std::vector<std::string>{"8080:80", "127.0.0.1:9090:90/udp", "7000"}));
  ASSERT_EQ(w.volumes.size(), 3u);
  EXPECT_EQ(w.volumes[0].type, "volume");
  EXPECT_EQ(w.volumes[0].source, "data");
  EXPECT_EQ(p.volumes.at("data").name, "myapp_data");
  EXPECT_EQ(w.volumes[1].type, "bind");
  EXPECT_EQ(w.volumes[1].source, "/srv/My App/site");  // beside the compose file
  EXPECT_TRUE(w.volumes[1].read_only);
  EXPECT_EQ(w.volumes[2].source, "/abs");
  EXPECT_EQ(*w.memory, "256m");
  EXPECT_DOUBLE_EQ(*w.cpus, 0.5);
  EXPECT_EQ(w.restart, "on-failure:3");
  EXPECT_TRUE(w.tty);
  EXPECT_EQ(w.labels.at("a"), "b");
  EXPECT_EQ(p.warnings, (std::vector<std::string>{}));
  EXPECT_EQ(parse("services: {a: {image: \"b${NOPE}\", command: \"$NOPE\"}}").warnings,
            (std::vector<std::string>{"The \"NOPE\" variable is not set. Defaulting to a blank string."}));
  EXPECT_EQ(w.networks, (std::vector<std::string>{"default"}));
  EXPECT_EQ(p.networks.at("default").name, "myapp_default");
}

TEST(ComposeModel, ServiceLongSyntax) {
  const Project p = parse(R"(
services:
  llm:
    build:
      context: ./server
      dockerfile: Dockerfile.cpu
      args: {MODEL: tiny}
    environment: ["K=V", "ONLY"]
    ports:
      - target: 8080
        published: "18080"
        host_ip: 127.0.0.1
      - {target: 53, protocol: udp}
    volumes:
      - {type: volume, source: cache, target: /cache, read_only: true}
      - {type: bind, source: ., target: /src}
    deploy:
      replicas: 3
      resources: {limits: {cpus: "1.5", memory: 1g}}
      restart_policy: {condition: any}
    healthcheck:
      test: curl -f http://localhost:8080/health
      interval: 2s
      retries: 5
    networks:
      back: {aliases: [model]}
networks:
  back:
    ipam: {config: [{subnet: 10.55.0.0/24}]}
volumes:
  cache: {name: shared-cache}
)");
  const Service& s = p.service("llm");
  EXPECT_EQ(s.image, "");
  EXPECT_EQ(s.image_for(p.name), "myapp-llm");
  ASSERT_TRUE(s.build);
  EXPECT_EQ(s.build->context, "/srv/My App/server");
  EXPECT_EQ(s.build->dockerfile, "/srv/My App/server/Dockerfile.cpu");
  EXPECT_EQ(s.build->args.at("MODEL"), "tiny");
  EXPECT_EQ(s.environment, (std::vector<std::string>{"K=V", "ONLY"}));
  EXPECT_EQ(s.ports, (std::vector<std::string>{"127.0.0.1:18080:8080", "53/udp"}));
  EXPECT_EQ(s.volumes[0].source, "cache");
  EXPECT_TRUE(s.volumes[0].read_only);
  EXPECT_EQ(p.volumes.at("cache").name, "shared-cache");
  EXPECT_EQ(s.volumes[1].source, "/srv/My App");
  EXPECT_EQ(s.replicas, 3);
  EXPECT_DOUBLE_EQ(*s.cpus, 1.5);
  EXPECT_EQ(*s.memory, "1g");
  EXPECT_EQ(s.restart, "always");
  ASSERT_TRUE(s.healthcheck);
  EXPECT_EQ(s.healthcheck->test,
            (std::vector<std::string>{"CMD-SHELL", "curl -f http://localhost:8080/health"}));
  EXPECT_EQ(s.healthcheck->interval, "2s");
  EXPECT_EQ(s.healthcheck->retries, 5);
  EXPECT_EQ(s.networks, (std::vector<std::string>{"back"}));
  EXPECT_EQ(s.network_aliases.at("back"), (std::vector<std::string>{"model"}));
  EXPECT_EQ(p.networks.at("back").name, "myapp_back");
  EXPECT_EQ(p.networks.at("back").subnet, "10.55.0.0/24");
  EXPECT_FALSE(p.networks.count("default"));  // no service uses it
}

// Several networks per service, in the order written; aliases per network;
// top-level name/external/ipam; `default` only for a service that lists none.
TEST(ComposeModel, SeveralNetworks) {
  const Project p = parse(R"(
services:
  front: {image: b, networks: [a]}
  api:
    image: b
    networks:
      b: {aliases: [db, store]}
      a:
      shared:
  lone: {image: b}
networks:
  a: {ipam: {config: [{subnet: "fd00:1:2::/64", gateway: "fd00:1:2::1"}]}}
  b: {name: my-back, driver: bridge, ipam: {config: [{subnet: 10.9.0.0/24, gateway: 10.9.0.1}]}}
  shared: {external: true, name: infra}
)");
  const Service& api = p.service("api");
  EXPECT_EQ(api.networks, (std::vector<std::string>{"b", "a", "shared"}));
  EXPECT_EQ(api.network_aliases.at("b"), (std::vector<std::string>{"db", "store"}));
  EXPECT_FALSE(api.network_aliases.count("a"));
  EXPECT_EQ(p.service("front").networks, (std::vector<std::string>{"a"}));
  EXPECT_EQ(p.service("lone").networks, (std::vector<std::string>{"default"}));
  EXPECT_EQ(p.networks.at("a").name, "myapp_a");
  EXPECT_EQ(p.networks.at("a").subnet, "fd00:1:2::/64");
  EXPECT_EQ(p.networks.at("b").name, "my-back");
  EXPECT_EQ(p.networks.at("shared").name, "infra");
  EXPECT_TRUE(p.networks.at("shared").external);
  EXPECT_EQ(p.networks.at("default").name, "myapp_default");
  // config prints them and reads them back the same.
  const std::string yaml = to_yaml(p);
  EXPECT_EQ(to_yaml(parse_project(yaml, "config.yaml", "/srv/My App", "", vars({}))), yaml);
}

TEST(ComposeModel, NetworkErrorsNameFileLineAndKey) {
  EXPECT_ERROR(parse("services:\n  w:\n    image: b\n    networks:\n      a: {ipv4_address: 10.0.0.5}\n"
                     "networks:\n  a:\n"),
               "compose.yaml:5:25: services.w.networks.a.ipv4_address: a fixed address is not supported");
  EXPECT_ERROR(parse("services:\n  w:\n    image: b\n    networks: [a, a]\n"
                     "networks:\n  a:\n"),
               "compose.yaml:4:19: services.w.networks[1]: network a is listed twice");
  EXPECT_ERROR(parse("services:\n  w:\n    image: b\n    networks:\n      a: {priority: 3}\n"
                     "networks:\n  a:\n"),
               "compose.yaml:5:11: services.w.networks.a.priority: unsupported key");
  EXPECT_ERROR(parse("services:\n  w: {image: b}\nnetworks:\n  a:\n    external: true\n    driver: bridge\n"),
               "compose.yaml:6:13: networks.a.driver: conflicting parameters \"external\" and \"driver\"");
  EXPECT_ERROR(
      parse("services:\n  w: {image: b}\nnetworks:\n  a: {ipam: {config: [{subnet: 10.1.0.0/33}]}}\n"),
      "compose.yaml:4:32: networks.a.ipam.config[0].subnet: ");
  EXPECT_ERROR(
      parse("services:\n  w: {image: b}\nnetworks:\n  a: {ipam: {config: [{subnet: 10.1.0.0/24, gateway: "
            "10.1.0.254}]}}\n"),
      "networks.a.ipam.config[0].gateway: minictr's gateway is the subnet's first address (10.1.0.1)");
  EXPECT_ERROR(parse("services:\n  w: {image: b}\nnetworks:\n  a: {ipam: {config: [{gateway: 10.1.0.1}]}}\n"),
               "networks.a.ipam.config[0].gateway: a gateway needs its subnet");
}

TEST(ComposeModel, DependsOnOrder) {
  const Project p = parse(R"(
services:
  client: {image: b, depends_on: {web: {condition: service_healthy}, db: {condition: service_started}}}
  web: {image: b, depends_on: [db]}
  db: {image: b}
  other: {image: b}
)");
  EXPECT_EQ(start_order(p), (std::vector<std::string>{"db", "web", "client", "other"}));
  EXPECT_EQ(p.service("client").depends_on[0].condition, "service_healthy");
  EXPECT_EQ(p.service("web").depends_on[0].condition, "service_started");
}

TEST(ComposeModel, CyclesRefused) {
  EXPECT_ERROR(parse("services:\n  a: {image: b, depends_on: [b]}\n  b: {image: b, depends_on: [c]}\n"
                     "  c: {image: b, depends_on: [a]}\n"),
               "dependency cycle between services: a -> b -> c -> a");
  EXPECT_ERROR(parse("services:\n  a: {image: b, depends_on: [a]}\n"), "cannot depend on itself");
}

TEST(ComposeModel, ErrorsNameFileLineAndKey) {
  EXPECT_ERROR(parse("services:\n  web:\n    image: b\n    ports:\n      - \"80:80:80:80\"\n"),
               "compose.yaml:5:9: services.web.ports[0]: invalid port \"80:80:80:80\"");
  EXPECT_ERROR(parse("services:\n  web:\n    image: b\n    deploy:\n      replica: 3\n"),
               "compose.yaml:5:7: services.web.deploy.replica: unsupported key");
  EXPECT_ERROR(
      parse("services:\n  web:\n    image: b\n    volumes: [\"cache:/c\"]\n"),
      "compose.yaml:4:15: services.web.volumes[0]: service \"web\" refers to undefined volume cache");
  EXPECT_ERROR(
      parse("services:\n  web:\n    image: b\n    depends_on: [nope]\n"),
      "compose.yaml:4:17: services.web.depends_on: service \"web\" depends on undefined service \"nope\"");
  EXPECT_ERROR(parse("services:\n  web:\n    image: b\n    mem_limit: lots\n"),
               "compose.yaml:4:16: services.web.mem_limit: ");
  EXPECT_ERROR(parse("services:\n  web:\n    command: x\n"),
               "compose.yaml:2:3: services.web: a service needs an image or a build");
  EXPECT_ERROR(
      parse("services:\n  web:\n    image: ${NEED:?give a tag}\n"),
      "compose.yaml:3:12: services.web.image: required variable NEED is missing a value: give a tag");
  EXPECT_ERROR(parse("services:\n  web:\n    image: b\n    restart: sometimes\n"),
               "compose.yaml:4:14: services.web.restart: must be no, always");
  EXPECT_ERROR(parse("services:\n  web:\n    image: b\n    networks: [front]\n"),
               "refers to undefined network front");
  EXPECT_ERROR(parse("services:\n  web: {image: b, deploy: {replicas: 2}, container_name: one}\n"),
               "cannot be used with 2 replicas");
  EXPECT_ERROR(parse("services:\n  web:\n    image: b\n   bad: indent\n"),
               "compose.yaml:4:");  // a YAML error
  EXPECT_ERROR(parse("version: \"3\"\n"), "no services: defined");
  EXPECT_ERROR(parse("services:\n  web:\n    image: b\n    volumes: [\"/only\"]\n"),
               "anonymous volumes are not supported");
}

TEST(ComposeModel, ConfigRoundTrip) {
  const Project p = parse(R"(
services:
  web:
    image: busybox
    command: ["httpd", "-f"]
    ports: ["8080:80"]
    deploy: {replicas: 2}
    depends_on: {db: {condition: service_healthy}}
  db:
    image: busybox
    healthcheck: {test: ["CMD", "true"], interval: 1s}
)");
  const std::string yaml = to_yaml(p);
  EXPECT_NE(yaml.find("name: myapp"), std::string::npos) << yaml;
  EXPECT_NE(yaml.find("replicas: 2"), std::string::npos) << yaml;
  EXPECT_NE(yaml.find("condition: service_healthy"), std::string::npos) << yaml;
  EXPECT_NE(yaml.find("myapp_default"), std::string::npos) << yaml;
  // What config prints parses back to the same model.
  const Project again = parse_project(yaml, "config.yaml", "/srv/My App", "", vars({}));
  EXPECT_EQ(to_yaml(again), yaml);
}
