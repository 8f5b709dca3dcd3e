// The llama SPM tokenizer: merges by score, byte fallback, round trips.
#include <gtest/gtest.h>

#include <cstdio>

#include "model/tokenizer.h"

namespace mctr::infer {
namespace {

const std::string S = "\xe2\x96\x81";  // ▁

// <unk> <s> </s>, 256 byte tokens, then the given pieces with the given scores.
Tokenizer make(const std::vector<std::pair<std::string, float>>& pieces) {
  std::vector<std::string> p = {"<unk>", "<s>", "</s>"};
  std::vector<float> sc = {0, 0, 0};
  std::vector<TokenType> ty = {TokenType::Unknown, TokenType::Control, TokenType::Control};
  char buf[8];
  for (int b = 0; b < 256; b++) {
    std::snprintf(buf, sizeof buf, "<0x%02X>", b);
    p.push_back(buf);
    sc.push_back(0);
    ty.push_back(TokenType::Byte);
  }
  for (auto& [piece, score] : pieces) {
    p.push_back(piece);
    sc.push_back(score);
    ty.push_back(TokenType::Normal);
  }
  return Tokenizer(p, sc, ty, 1, 2, 0);
}

constexpr int kFirst = 259;  // id of the first word piece

TEST(Tokenizer, MergesHighestScoreFirst) {
  // "▁ab" can be built as (▁a)(b) or (▁)(ab); the higher-scored pair merges first.
  auto t = make({{S, -10}, {"a", -10}, {"b", -10}, {S + "a", -1}, {"ab", -2}, {S + "ab", -3}});
  EXPECT_EQ(t.encode("ab", false), (std::vector<int>{kFirst + 5}));
  auto t2 = make({{S, -10}, {"a", -10}, {"b", -10}, {S + "a", -1}, {"ab", -2}});  // no ▁ab
  EXPECT_EQ(t2.encode("ab", false), (std::vector<int>{kFirst + 3, kFirst + 2}));
  auto t3 = make({{S, -10}, {"a", -10}, {"b", -10}, {S + "a", -3}, {"ab", -2}});
  EXPECT_EQ(t3.encode("ab", false), (std::vector<int>{kFirst, kFirst + 4}));
}

TEST(Tokenizer, EqualScoresMergeLeftmostFirst) {
  auto t = make({{S, -10}, {"a", -10}, {"aa", -1}});
  // "▁aaa": pairs (a,a) at 1 and 2 tie; the left one merges: ▁ aa a
  EXPECT_EQ(t.encode("aaa", false), (std::vector<int>{kFirst, kFirst + 2, kFirst + 1}));
}

TEST(Tokenizer, ByteFallbackForUnknownCharacters) {
  auto t = make({{S, -1}, {"h", -1}, {"i", -1}});
  auto ids = t.encode("hi\xc3\xa9", true);  // "hié": é is not a piece -> bytes C3 A9
  EXPECT_EQ(ids, (std::vector<int>{1, kFirst, kFirst + 1, kFirst + 2, 3 + 0xc3, 3 + 0xa9}));
  EXPECT_EQ(t.decode(ids), "hi\xc3\xa9");
  EXPECT_EQ(t.piece(3 + 0x0a), "\n");
  EXPECT_EQ(t.piece(1), "") << "control tokens print nothing";
}

TEST(Tokenizer, RoundTrips) {
  auto t = make({{S, -1}, {S + "the", -2}, {"th", -3}, {"e", -4}, {"t", -5}, {"h", -6}, {S + "t", -7}});
  for (std::string s : {"the", "the the  thethe", "  leading spaces", "tabs\tand\nnewlines",
                        "unicode \xe2\x82\xac and \xf0\x9f\x98\x80", "", "x"}) {
    EXPECT_EQ(t.decode(t.encode(s, true)), s) << s;
  }
}

TEST(Tokenizer, SpacesBecomeMetaspace) {
  auto t = make({{S + "a", -1}, {S, -2}, {"a", -3}});
  EXPECT_EQ(t.encode("a a", false), (std::vector<int>{kFirst, kFirst}));
  EXPECT_EQ(t.piece(kFirst), " a");
  EXPECT_EQ(t.decode({kFirst, kFirst}), "a a");
}

}  // namespace
}  // namespace mctr::infer
