#include "util/command_line.h"

#include <gtest/gtest.h>

using mctr::command_as_typed;
using V = std::vector<std::string>;

// What CLI11 hands us for `minictr run busybox sh -c '[ -d / ]'`, and what was typed.
TEST(CommandAsTyped, BracketedArgumentsComeBackAsTyped) {
  V argv{"minictr", "run", "--rm", "busybox", "sh", "-c", "[ -d / ]"};
  EXPECT_EQ(command_as_typed({"sh", "-c", " -d / "}, argv), (V{"sh", "-c", "[ -d / ]"}));
  argv = {"minictr", "run", "busybox", "echo", "[1,2]", "[]", "x"};
  EXPECT_EQ(command_as_typed({"echo", "1", "2", "x"}, argv), (V{"echo", "[1,2]", "[]", "x"}));
}

TEST(CommandAsTyped, PlainCommandsAndOptionValuesAreLeftAlone) {
  V argv{"minictr", "run", "-e", "A=[x]", "busybox", "ls", "-l"};
  EXPECT_EQ(command_as_typed({"ls", "-l"}, argv), (V{"ls", "-l"}));
  EXPECT_EQ(command_as_typed({}, argv), V{});
}

// A command line the walk cannot line up with what was parsed: keep the parse.
TEST(CommandAsTyped, NotLiningUpKeepsTheParse) {
  V argv{"minictr", "run", "busybox", "ls", "--", "-l"};
  EXPECT_EQ(command_as_typed({"ls", "--x"}, argv), (V{"ls", "--x"}));
  EXPECT_EQ(command_as_typed({"a", "b", "c", "d", "e", "f", "g"}, V{"minictr", "b"}),
            (V{"a", "b", "c", "d", "e", "f", "g"}));
}
