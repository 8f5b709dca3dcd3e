// inspect -f: the Go-template subset, printed as Docker prints it.
#include "util/template.h"

#include <gtest/gtest.h>

#include "util/error.h"

using mctr::tmpl::render;
using nlohmann::json;

namespace {

const json kData = json::parse(R"({
  "Id": "abc", "Args": ["-c", "echo hi"],
  "State": {"Pid": 42, "Running": true, "Status": "running", "ExitCode": 0, "Error": ""},
  "Config": {"Env": ["A=1", "B=2"], "Entrypoint": null, "Labels": {"b": "2", "a": "1"}},
  "NetworkSettings": {"IPAddress": "10.88.0.2",
                      "Ports": {"80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "8080"}]},
                      "Networks": {"bridge": {"IPAddress": "10.88.0.2"}}},
  "Mounts": [{"Destination": "/data"}, {"Destination": "/logs"}]
})");

TEST(Template, FieldsPrintAsGoDoes) {
  EXPECT_EQ(render("{{.State.Pid}}", kData), "42");
  EXPECT_EQ(render("pid={{ .State.Pid }} ip={{.NetworkSettings.IPAddress}}\n", kData),
            "pid=42 ip=10.88.0.2\n");
  EXPECT_EQ(render("{{.State.Running}}", kData), "true");
  EXPECT_EQ(render("{{.Args}}", kData), "[-c echo hi]");
  EXPECT_EQ(render("{{.Config.Labels}}", kData), "map[a:1 b:2]");
  EXPECT_EQ(render("{{.Config.Entrypoint}}", kData), "<nil>");
  EXPECT_EQ(render("{{.Nope}}", kData), "<no value>");
  EXPECT_EQ(render("{{.State.Nope.Deeper}}", kData), "<no value>");
  EXPECT_EQ(render("{{.}}", json("x")), "x");
}

TEST(Template, Functions) {
  EXPECT_EQ(render("{{json .Config.Env}}", kData), R"(["A=1","B=2"])");
  EXPECT_EQ(render("{{json .State.Nope}}", kData), "null");
  EXPECT_EQ(render("{{len .Mounts}}", kData), "2");
  EXPECT_EQ(render("{{join .Config.Env \",\"}}", kData), "A=1,B=2");
  EXPECT_EQ(render("{{upper .State.Status}}", kData), "RUNNING");
  EXPECT_EQ(render("{{index .NetworkSettings.Ports \"80/tcp\" 0 \"HostPort\"}}", kData), "8080");
  EXPECT_EQ(render("{{index .Args 1}}", kData), "echo hi");
}

TEST(Template, RangeIfAndVariables) {
  EXPECT_EQ(render("{{range .Mounts}}{{.Destination}} {{end}}", kData), "/data /logs ");
  EXPECT_EQ(render("{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", kData), "10.88.0.2");
  EXPECT_EQ(render("{{range $k, $v := .Config.Labels}}{{$k}}={{$v}};{{end}}", kData), "a=1;b=2;");
  EXPECT_EQ(render("{{range $i, $m := .Mounts}}{{$i}}:{{$m.Destination}} {{end}}", kData),
            "0:/data 1:/logs ");
  EXPECT_EQ(render("{{range .Config.Entrypoint}}x{{else}}none{{end}}", kData), "none");
  EXPECT_EQ(render("{{if .State.Running}}up{{else}}down{{end}}", kData), "up");
  EXPECT_EQ(render("{{if .State.Error}}err{{else}}ok{{end}}", kData), "ok");
  EXPECT_EQ(render("{{range .Mounts}}{{$.Id}}{{end}}", kData), "abcabc");
  EXPECT_EQ(render("a  {{- .Id -}}  b", kData), "aabcb");
}

TEST(Template, ErrorsAreOneLine) {
  for (const char* bad : {"{{.Id", "{{range .Mounts}}x", "{{end}}", "{{nosuch .Id}}", "{{len .State.Pid}}",
                          "{{.Id .Id}}", "{{range .State.Pid}}{{end}}", "{{index .Args \"k\"}}", "{{$x}}"}) {
    try {
      render(bad, kData);
      ADD_FAILURE() << "no error for " << bad;
    } catch (const mctr::Error& e) {
      std::string msg = e.what();
      EXPECT_EQ(msg.rfind("template: ", 0), 0u) << msg;
      EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
    }
  }
}

}  // namespace
