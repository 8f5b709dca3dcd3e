// The Dockerfile parser and the variable expansion, on strings (no root).
#include "build/dockerfile.h"

#include <gtest/gtest.h>

#include "expect_error.h"

using mctr::build::expand_word;
using mctr::build::expand_words;
using mctr::build::Lookup;
using mctr::build::parse_dockerfile;
using mctr::build::parse_pairs;

namespace {

Lookup vars(std::map<std::string, std::string> m) {
  return [m](const std::string& k) -> std::optional<std::string> {
    auto it = m.find(k);
    if (it == m.end()) return std::nullopt;
    return it->second;
  };
}

}  // namespace

TEST(DockerfileParse, StagesAndInstructions) {
  auto df = parse_dockerfile(
      "ARG BASE=busybox\n"
      "FROM ${BASE} AS Build\n"
      "RUN echo hi\n"
      "FROM scratch\n"
      "COPY --from=build /out /out\n"
      "CMD [\"/out\"]\n",
      "Dockerfile");
  ASSERT_EQ(df.global_args.size(), 1u);
  EXPECT_EQ(df.global_args[0].args, "BASE=busybox");
  ASSERT_EQ(df.stages.size(), 2u);
  EXPECT_EQ(df.stages[0].base, "${BASE}");
  EXPECT_EQ(df.stages[0].name, "build");
  EXPECT_EQ(df.stages[1].base, "scratch");
  EXPECT_EQ(df.stages[1].index, 1);
  ASSERT_EQ(df.stages[1].instructions.size(), 2u);
  const auto& copy = df.stages[1].instructions[0];
  EXPECT_EQ(copy.keyword, "COPY");
  EXPECT_EQ(copy.flags.at("from"), "build");
  EXPECT_EQ(copy.args, "/out /out");
  EXPECT_EQ(copy.line, 5);
  EXPECT_EQ(copy.display(), "COPY --from=build /out /out");
  const auto& cmd = df.stages[1].instructions[1];
  EXPECT_TRUE(cmd.json_form);
  EXPECT_EQ(cmd.json, std::vector<std::string>{"/out"});
  EXPECT_EQ(df.find_stage("BUILD"), &df.stages[0]);
  EXPECT_EQ(df.find_stage("1"), &df.stages[1]);
  EXPECT_EQ(df.find_stage("2"), nullptr);
}

TEST(DockerfileParse, ContinuationsCommentsAndCase) {
  auto df = parse_dockerfile(
      "# a comment\n"
      "from busybox\n"
      "\n"
      "run echo a \\\n"
      "  # a comment inside is dropped\n"
      "\n"
      "    b \\\n"
      "  c\n"
      "  env A=1\n",
      "Dockerfile");
  ASSERT_EQ(df.stages[0].instructions.size(), 2u);
  const auto& run = df.stages[0].instructions[0];
  EXPECT_EQ(run.keyword, "RUN");
  EXPECT_EQ(run.line, 4);
  EXPECT_EQ(run.args, "echo a     b   c");
  EXPECT_FALSE(run.json_form);
  EXPECT_EQ(df.stages[0].instructions[1].line, 9);
}

TEST(DockerfileParse, EscapeDirectiveAndSyntaxIgnored) {
  auto df = parse_dockerfile(
      "# syntax=docker/dockerfile:1\n"
      "# escape=`\n"
      "FROM busybox\n"
      "RUN echo a `\n"
      "  b\\c\n",
      "Dockerfile");
  EXPECT_EQ(df.escape, '`');
  EXPECT_EQ(df.stages[0].instructions[0].args, "echo a   b\\c");
  // After the first instruction "# escape=" is only a comment.
  auto late = parse_dockerfile("FROM busybox\n# escape=`\nRUN a \\\n b\n", "Dockerfile");
  EXPECT_EQ(late.escape, '\\');
  EXPECT_EQ(late.stages[0].instructions[0].args, "a  b");
}

TEST(DockerfileParse, ExecAndShellForms) {
  auto df = parse_dockerfile(
      "FROM busybox\n"
      "RUN [\"sh\", \"-c\", \"echo x\"]\n"
      "RUN [not json\n"
      "ENTRYPOINT [\"a\", 1]\n"
      "SHELL [\"/bin/sh\", \"-ec\"]\n"
      "HEALTHCHECK --interval=5s --retries=3 CMD wget -q localhost\n"
      "RUN --network=none make\n",
      "Dockerfile");
  const auto& in = df.stages[0].instructions;
  EXPECT_TRUE(in[0].json_form);
  EXPECT_EQ(in[0].json.size(), 3u);
  EXPECT_FALSE(in[1].json_form);  // not JSON: shell form, as Docker does
  EXPECT_FALSE(in[2].json_form);  // an array of non-strings is shell form too
  EXPECT_TRUE(in[3].json_form);
  EXPECT_EQ(in[4].flags.at("interval"), "5s");
  EXPECT_EQ(in[4].flags.at("retries"), "3");
  EXPECT_EQ(in[4].args, "CMD wget -q localhost");
  EXPECT_EQ(in[5].flags.at("network"), "none");
  EXPECT_EQ(in[5].args, "make");
}

TEST(DockerfileParse, ErrorsNameFileLineAndInstruction) {
  EXPECT_ERROR(parse_dockerfile("FROM busybox\nRNU echo\n", "ctx/Dockerfile"),
               "ctx/Dockerfile:2: unknown instruction: RNU");
  EXPECT_ERROR(parse_dockerfile("RUN echo\nFROM busybox\n", "Dockerfile"),
               "Dockerfile:1: RUN: no build stage in current context");
  EXPECT_ERROR(parse_dockerfile("FROM busybox\n\nCOPY onlyone\n", "Dockerfile"),
               "Dockerfile:3: COPY: COPY requires at least two arguments");
  EXPECT_ERROR(parse_dockerfile("FROM busybox\nCOPY --frm=x a b\n", "Dockerfile"),
               "Dockerfile:2: COPY: unknown flag: --frm");
  EXPECT_ERROR(parse_dockerfile("FROM busybox\nCOPY --from a b\n", "Dockerfile"),
               "Dockerfile:2: COPY: --from needs a value");
  EXPECT_ERROR(parse_dockerfile("FROM busybox\nRUN --mount=type=cache,target=/x true\n", "Dockerfile"),
               "Dockerfile:2: RUN: --mount is a BuildKit option minictr does not support");
  EXPECT_ERROR(parse_dockerfile("FROM busybox\nRUN --network=bridge true\n", "Dockerfile"),
               "Dockerfile:2: RUN: --network=bridge: expected default, none or host");
  EXPECT_ERROR(parse_dockerfile("FROM a b\n", "Dockerfile"),
               "Dockerfile:1: FROM: FROM requires either one or three");
  EXPECT_ERROR(parse_dockerfile("FROM a AS 1x\n", "Dockerfile"), "invalid name for build stage");
  EXPECT_ERROR(parse_dockerfile("FROM a AS x\nFROM b AS X\n", "Dockerfile"),
               "Dockerfile:2: FROM: duplicate name for build stage");
  EXPECT_ERROR(parse_dockerfile("FROM a\nSHELL /bin/sh -c\n", "Dockerfile"),
               "Dockerfile:2: SHELL: SHELL requires the arguments to be in JSON form");
  EXPECT_ERROR(parse_dockerfile("FROM a\nWORKDIR /a /b\n", "Dockerfile"),
               "Dockerfile:2: WORKDIR: WORKDIR requires exactly one argument");
  EXPECT_ERROR(parse_dockerfile("FROM a\nENV ONLYNAME\n", "Dockerfile"),
               "Dockerfile:2: ENV: ENV must have two arguments");
  EXPECT_ERROR(parse_dockerfile("FROM a\nHEALTHCHECK PING x\n", "Dockerfile"), "HEALTHCHECK: unknown type");
  EXPECT_ERROR(parse_dockerfile("FROM a\nONBUILD RUN x\n", "Dockerfile"), "ONBUILD is not supported");
  EXPECT_ERROR(parse_dockerfile("# escape=x\nFROM a\n", "Dockerfile"), "Dockerfile:1: invalid escape token");
  EXPECT_ERROR(parse_dockerfile("# just a comment\n\n", "Dockerfile"), "has no FROM instruction");
}

TEST(DockerfileExpand, Variables) {
  auto v = vars({{"A", "1"}, {"EMPTY", ""}, {"P", "/usr/bin"}});
  EXPECT_EQ(expand_word("$A", '\\', v), "1");
  EXPECT_EQ(expand_word("${A}x", '\\', v), "1x");
  EXPECT_EQ(expand_word("$Ax", '\\', v), "");  // the name is "Ax"
  EXPECT_EQ(expand_word("${UNSET:-d}", '\\', v), "d");
  EXPECT_EQ(expand_word("${EMPTY:-d}", '\\', v), "d");
  EXPECT_EQ(expand_word("${EMPTY-d}", '\\', v), "");
  EXPECT_EQ(expand_word("${A:+set}", '\\', v), "set");
  EXPECT_EQ(expand_word("${UNSET:+set}", '\\', v), "");
  EXPECT_EQ(expand_word("${UNSET:-$P/x}", '\\', v), "/usr/bin/x");
  EXPECT_EQ(expand_word("\\$A '$A' \"$A\"", '\\', v), "$A $A 1");
  EXPECT_EQ(expand_word("a$", '\\', v), "a$");
  EXPECT_EQ(expand_word("`$A", '`', v), "$A");
  EXPECT_ERROR(expand_word("${A", '\\', v), "missing '}'");
  EXPECT_ERROR(expand_word("'open", '\\', v), "matching single-quote");
  EXPECT_ERROR(expand_word("${A/x/y}", '\\', v), "unsupported modifier");
}

TEST(DockerfileExpand, WordsAndQuotes) {
  auto v = vars({{"F", "a b"}});
  EXPECT_EQ(expand_words("x  \"y z\" ''  $F", '\\', v), (std::vector<std::string>{"x", "y z", "", "a b"}));
  EXPECT_EQ(expand_words("a\\ b c", '\\', v), (std::vector<std::string>{"a b", "c"}));
}

TEST(DockerfileExpand, Pairs) {
  auto df = parse_dockerfile(
      "FROM a\n"
      "ENV A=1 B=\"two words\" C=$X\n"
      "ENV LEGACY the rest of the line\n"
      "LABEL \"com.example.k\"=v\n"
      "ENV A=1 B\n",
      "Dockerfile");
  auto v = vars({{"X", "x"}});
  const auto& in = df.stages[0].instructions;
  auto p = parse_pairs(in[0], '\\', v);
  ASSERT_EQ(p.size(), 3u);
  EXPECT_EQ(p[1], (std::pair<std::string, std::string>{"B", "two words"}));
  EXPECT_EQ(p[2].second, "x");
  p = parse_pairs(in[1], '\\', v);
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0], (std::pair<std::string, std::string>{"LEGACY", "the rest of the line"}));
  EXPECT_EQ(parse_pairs(in[2], '\\', v)[0].first, "com.example.k");
  EXPECT_ERROR(parse_pairs(in[3], '\\', v), "can't find = in \"B\"");
}
