// Picking the next token from the logits, in llama.cpp's order:
// repeat penalty -> top_k -> top_p -> min_p -> temperature -> random draw.
// temperature <= 0 means greedy (argmax after the repeat penalty).
#pragma once

#include <cstdint>
#include <random>
#include <vector>

namespace mctr::infer {

struct SamplingParams {
  float temperature = 0.8f;
  int top_k = 40;               // <= 0: keep all
  float top_p = 0.95f;          // >= 1: off
  float min_p = 0.05f;          // <= 0: off
  float repeat_penalty = 1.1f;  // 1: off
  int repeat_last_n = 64;
  int64_t seed = -1;  // < 0: pick a random seed
};

class Sampler {
 public:
  explicit Sampler(const SamplingParams& p);
  // `recent` holds the tokens seen so far (prompt and generated); the last repeat_last_n count.
  int sample(const float* logits, int n_vocab, const std::vector<int>& recent);
  uint64_t seed() const { return seed_; }

 private:
  SamplingParams p_;
  uint64_t seed_;
  std::mt19937_64 rng_;
  std::vector<std::pair<float, int>> cand_;
};

}  // namespace mctr::infer
