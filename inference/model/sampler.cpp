#include "model/sampler.h"

#include <algorithm>
#include <cmath>
#include <unordered_set>

namespace mctr::infer {

Sampler::Sampler(const SamplingParams& p)
    : p_(p), seed_(p.seed >= 0 ? static_cast<uint64_t>(p.seed) : std::random_device{}()), rng_(seed_) {}

int Sampler::sample(const float* logits, int n_vocab, const std::vector<int>& recent) {
  cand_.resize(n_vocab);
  for (int i = 0; i < n_vocab; i++) cand_[i] = {logits[i], i};

  // Repeat penalty (CTRL paper, as llama.cpp): make recently seen tokens less likely.
  if (p_.repeat_penalty != 1.0f && p_.repeat_last_n != 0) {
    size_t n =
        p_.repeat_last_n < 0 ? recent.size() : std::min(recent.size(), static_cast<size_t>(p_.repeat_last_n));
    std::unordered_set<int> seen(recent.end() - static_cast<std::ptrdiff_t>(n), recent.end());
    for (int t : seen) {
      if (t < 0 || t >= n_vocab) continue;
      float& l = cand_[t].first;
      l = l > 0 ? l / p_.repeat_penalty : l * p_.repeat_penalty;
    }
  }

  auto by_logit = [](const auto& a, const auto& b) {
    return a.first > b.first || (a.first == b.first && a.second < b.second);
  };
  if (p_.temperature <= 0.0f) return std::min_element(cand_.begin(), cand_.end(), by_logit)->second;

  size_t keep = cand_.size();
  if (p_.top_k > 0 && static_cast<size_t>(p_.top_k) < keep) keep = p_.top_k;
  std::partial_sort(cand_.begin(), cand_.begin() + static_cast<std::ptrdiff_t>(keep), cand_.end(), by_logit);
  cand_.resize(keep);

  // Probabilities of the survivors (softmax at temperature 1 for the p filters, like llama.cpp).
  std::vector<float> prob(keep);
  float maxl = cand_[0].first, sum = 0;
  for (size_t i = 0; i < keep; i++) sum += prob[i] = std::exp(cand_[i].first - maxl);
  for (auto& p : prob) p /= sum;

  if (p_.top_p < 1.0f) {  // smallest prefix whose mass reaches top_p
    float cum = 0;
    size_t i = 0;
    while (i < keep) {
      cum += prob[i++];
      if (cum >= p_.top_p) break;
    }
    keep = std::max<size_t>(1, i);
  }
  if (p_.min_p > 0.0f) {  // drop tokens less likely than min_p times the best one
    size_t i = 1;
    while (i < keep && prob[i] >= p_.min_p * prob[0]) i++;
    keep = i;
  }

  std::vector<double> w(keep);
  for (size_t i = 0; i < keep; i++) w[i] = std::exp((cand_[i].first - maxl) / p_.temperature);
  std::discrete_distribution<size_t> dist(w.begin(), w.end());
  return cand_[dist(rng_)].second;
}

}  // namespace mctr::infer
