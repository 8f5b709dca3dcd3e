// Image references follow Docker's grammar: "x:y:z" or "../x" are
// "invalid reference format", never a name looked up (or a path).
#include "image/reference.h"

#include <gtest/gtest.h>

#include "util/error.h"

using mctr::Error;
using mctr::image::parse_reference;

TEST(ReferenceGrammar, Accepts) {
  EXPECT_EQ(parse_reference("busybox").str(), "busybox:latest");
  EXPECT_EQ(parse_reference("a_b__c-d---e.f/g:V1.0-x_y").str(), "a_b__c-d---e.f/g:V1.0-x_y");
  EXPECT_EQ(parse_reference("localhost:5000/team/app:v1").str(), "localhost:5000/team/app:v1");
  EXPECT_EQ(parse_reference("Registry.Example.com/app").str(), "Registry.Example.com/app:latest");
  EXPECT_EQ(parse_reference("[::1]:5000/app").str(), "[::1]:5000/app:latest");
  EXPECT_EQ(parse_reference("app@sha256:" + std::string(64, '0')).str(), "app:latest");
  EXPECT_EQ(parse_reference("app:" + std::string(128, 't')).tag.size(), 128u);
}

TEST(ReferenceGrammar, Refuses) {
  for (const std::string& bad : std::vector<std::string>{"",
                                                         "x:y:z",
                                                         "busybox:a:b",
                                                         "../busybox",
                                                         "./busybox",
                                                         "a/../b",
                                                         "a//b",
                                                         "a/",
                                                         "/a",
                                                         ".a",
                                                         "a.",
                                                         "a..b",
                                                         "a-",
                                                         "-a",
                                                         "a___b",
                                                         "a:",
                                                         ":t",
                                                         "a:.t",
                                                         "a:-t",
                                                         "App",
                                                         "a b",
                                                         "a/B",
                                                         "a:" + std::string(129, 't'),
                                                         "host:port/a",
                                                         "a@sha256:abc",
                                                         "a@:" + std::string(64, '0'),
                                                         "a@sha256:" + std::string(64, '!'),
                                                         std::string(256, 'a')}) {
    try {
      parse_reference(bad);
      ADD_FAILURE() << "accepted '" << bad << "'";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("invalid reference format"), std::string::npos) << e.what();
    }
  }
}
