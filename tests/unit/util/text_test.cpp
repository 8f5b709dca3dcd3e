// text::split and text::fields: the parts std::getline would give, as views.
#include "util/text.h"

#include <gtest/gtest.h>

#include <string_view>
#include <vector>

using mctr::text::fields;
using mctr::text::split;
using Parts = std::vector<std::string_view>;

TEST(TextSplit, KeepsEmptyPartsButNoneAfterALastSeparator) {
  EXPECT_EQ(split("a,,b", ','), (Parts{"a", "", "b"}));
  EXPECT_EQ(split(",a", ','), (Parts{"", "a"}));
  EXPECT_EQ(split("a\nb\n", '\n'), (Parts{"a", "b"}));
  EXPECT_EQ(split("a\n\n", '\n'), (Parts{"a", ""}));
  EXPECT_EQ(split("abc", ','), (Parts{"abc"}));
  EXPECT_TRUE(split("", ',').empty());
}

TEST(TextFields, DropsRunsOfTheSeparator) {
  EXPECT_EQ(fields("  36 35   98:0 / "), (Parts{"36", "35", "98:0", "/"}));
  EXPECT_EQ(fields("1,,2", ','), (Parts{"1", "2"}));
  EXPECT_TRUE(fields("   ").empty());
}
