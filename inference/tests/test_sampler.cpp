// Sampler properties: greedy, determinism by seed, and what each filter lets through.
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "model/sampler.h"

namespace mctr::infer {
namespace {

std::vector<float> logits_demo() { return {1.0f, 3.0f, 2.5f, -1.0f, 0.0f, 2.9f, -5.0f, 0.5f}; }

SamplingParams plain(float temp) {
  SamplingParams p;
  p.temperature = temp;
  p.top_k = 0;
  p.top_p = 1.0f;
  p.min_p = 0.0f;
  p.repeat_penalty = 1.0f;
  p.seed = 42;
  return p;
}

TEST(Sampler, GreedyAtTemperatureZero) {
  auto l = logits_demo();
  Sampler s(plain(0.0f));
  for (int i = 0; i < 5; i++) EXPECT_EQ(s.sample(l.data(), 8, {}), 1);
}

TEST(Sampler, RepeatPenaltyChangesTheGreedyChoice) {
  auto l = logits_demo();
  auto p = plain(0.0f);
  p.repeat_penalty = 1.5f;  // 3.0 / 1.5 = 2.0 < 2.9
  Sampler s(p);
  EXPECT_EQ(s.sample(l.data(), 8, {1}), 5);
  // Only the last repeat_last_n tokens count.
  p.repeat_last_n = 1;
  Sampler s2(p);
  EXPECT_EQ(s2.sample(l.data(), 8, {1, 7}), 1);
  // Negative logits are multiplied (made more negative), as in llama.cpp.
  std::vector<float> neg = {-1.0f, -1.2f};
  Sampler s3(plain(0.0f));
  auto p3 = plain(0.0f);
  p3.repeat_penalty = 1.5f;
  Sampler s4(p3);
  EXPECT_EQ(s4.sample(neg.data(), 2, {0}), 1);  // -1.5 < -1.2
}

TEST(Sampler, SameSeedSameTokens) {
  auto l = logits_demo();
  Sampler a(plain(1.0f)), b(plain(1.0f));
  std::vector<int> ta, tb;
  for (int i = 0; i < 50; i++) ta.push_back(a.sample(l.data(), 8, {}));
  for (int i = 0; i < 50; i++) tb.push_back(b.sample(l.data(), 8, {}));
  EXPECT_EQ(ta, tb);
  EXPECT_GT(std::set<int>(ta.begin(), ta.end()).size(), 2u) << "temperature 1 should not be greedy";
}

TEST(Sampler, TopKKeepsOnlyTheKBest) {
  auto l = logits_demo();
  auto p = plain(5.0f);  // hot, so without filters everything shows up
  p.top_k = 2;
  Sampler s(p);
  std::set<int> seen;
  for (int i = 0; i < 300; i++) seen.insert(s.sample(l.data(), 8, {}));
  EXPECT_EQ(seen, (std::set<int>{1, 5}));
}

TEST(Sampler, TopPKeepsTheSmallestSufficientSet) {
  // probabilities ~ 0.5, 0.3, 0.2 (up to normalisation): top_p 0.7 keeps the first two
  std::vector<float> l = {std::log(0.5f), std::log(0.3f), std::log(0.2f)};
  auto p = plain(1.0f);
  p.top_p = 0.7f;
  Sampler s(p);
  std::map<int, int> count;
  for (int i = 0; i < 2000; i++) count[s.sample(l.data(), 3, {})]++;
  EXPECT_EQ(count.count(2), 0u);
  EXPECT_NEAR(count[0] / 2000.0, 0.5 / 0.8, 0.05);
}

TEST(Sampler, MinPDropsUnlikelyTokens) {
  std::vector<float> l = {std::log(0.6f), std::log(0.35f), std::log(0.05f)};
  auto p = plain(1.0f);
  p.min_p = 0.1f;  // 0.05 < 0.1 * 0.6
  Sampler s(p);
  std::set<int> seen;
  for (int i = 0; i < 1000; i++) seen.insert(s.sample(l.data(), 3, {}));
  EXPECT_EQ(seen, (std::set<int>{0, 1}));
}

TEST(Sampler, TemperatureSharpensTheDistribution) {
  std::vector<float> l = {1.0f, 0.0f};
  auto cold = plain(0.25f), hot = plain(4.0f);
  Sampler sc(cold), sh(hot);
  int c0 = 0, h0 = 0;
  for (int i = 0; i < 2000; i++) {
    c0 += sc.sample(l.data(), 2, {}) == 0;
    h0 += sh.sample(l.data(), 2, {}) == 0;
  }
  // p0 = 1/(1+e^-4) = 0.982 when cold, 1/(1+e^-0.25) = 0.562 when hot
  EXPECT_NEAR(c0 / 2000.0, 0.982, 0.02);
  EXPECT_NEAR(h0 / 2000.0, 0.562, 0.04);
}

}  // namespace
}  // namespace mctr::infer
