// The bundled model against PyTorch: export_gguf.py ran the trained PyTorch model on a few
// prompts and stored its logits, its greedy continuation and SentencePiece's token ids in
// models/reference_logits.json. Our forward pass and tokenizer must agree.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>

#include "model/transformer.h"

namespace mctr::infer {
namespace {

std::string models_dir() {
  const char* d = std::getenv("MINICTR_INFER_MODELS_DIR");  // to check a fresh export elsewhere
  return d && *d ? d : MINICTR_INFER_MODELS;
}

nlohmann::json reference() {
  std::ifstream in(models_dir() + "/reference_logits.json");
  EXPECT_TRUE(in.good()) << "missing " << models_dir() << "/reference_logits.json";
  return nlohmann::json::parse(in);
}

TEST(Reference, F32LogitsMatchPyTorch) {
  auto ref = reference();
  Model m(models_dir() + "/minictr-fortunes-f32.gguf");
  ThreadPool pool(2);
  for (auto& p : ref["prompts"]) {
    std::vector<int> toks = p["tokens"].get<std::vector<int>>();
    EXPECT_EQ(m.tokenizer().encode(p["text"].get<std::string>(), true), toks) << p["text"];
    for (bool batched : {false, true}) {
      Session s(m, m.config().ctx_len);
      std::vector<std::vector<float>> logits_at(toks.size());
      if (batched) {
        // Batched: feed up to each reference position in one call.
        for (auto& [pos_s, want] : p["logits"].items()) {
          int pos = std::stoi(pos_s);
          s.reset();
          std::vector<int> prefix(toks.begin(), toks.begin() + pos + 1);
          const float* l = m.forward(s, prefix, pool);
          logits_at[pos].assign(l, l + m.config().n_vocab);
        }
      } else {
        for (size_t i = 0; i < toks.size(); i++) {
          const float* l = m.forward(s, {toks[i]}, pool);
          logits_at[i].assign(l, l + m.config().n_vocab);
        }
      }
      for (auto& [pos_s, want] : p["logits"].items()) {
        int pos = std::stoi(pos_s);
        auto w = want.get<std::vector<float>>();
        ASSERT_EQ(w.size(), logits_at[pos].size());
        double maxd = 0;
        for (size_t i = 0; i < w.size(); i++)
          maxd = std::max(maxd, std::fabs(double(w[i]) - logits_at[pos][i]));
        EXPECT_LT(maxd, 1e-3) << p["text"] << " position " << pos << (batched ? " batched" : " one by one");
      }
    }
  }
}

TEST(Reference, GreedyContinuationMatchesPyTorch) {
  auto ref = reference();
  Model m(models_dir() + "/minictr-fortunes-f32.gguf");
  ThreadPool pool(2);
  for (auto& p : ref["prompts"]) {
    std::vector<int> toks = p["tokens"].get<std::vector<int>>();
    auto want = p["greedy"].get<std::vector<int>>();
    Session s(m, m.config().ctx_len);
    const float* l = m.forward(s, toks, pool);
    std::vector<int> got;
    for (size_t i = 0; i < want.size(); i++) {
      int best = static_cast<int>(std::max_element(l, l + m.config().n_vocab) - l);
      got.push_back(best);
      l = m.forward(s, {best}, pool);
    }
    EXPECT_EQ(got, want) << p["text"];
    // sentencepiece prints U+FFFD for bytes that are not valid UTF-8; compare only clean text.
    std::string want_text = p["greedy_text"];
    if (want_text.find("\xef\xbf\xbd") == std::string::npos) {
      EXPECT_EQ(m.tokenizer().decode(got), want_text);
    }
  }
}

TEST(Reference, TokenizerMatchesSentencePiece) {
  auto ref = reference();
  Model m(models_dir() + "/minictr-fortunes-f32.gguf");
  for (auto& t : ref["tokenizer"]) {
    std::string text = t["text"];
    auto want = t["tokens"].get<std::vector<int>>();
    EXPECT_EQ(m.tokenizer().encode(text, false), want) << text;
    EXPECT_EQ(m.tokenizer().decode(want), text);
  }
}

TEST(Reference, QuantizedBundledModelsStayClose) {
  auto ref = reference();
  Model f32(models_dir() + "/minictr-fortunes-f32.gguf");
  Model q8(models_dir() + "/minictr-fortunes-q8_0.gguf");
  ThreadPool pool(2);
  auto toks = ref["prompts"][0]["tokens"].get<std::vector<int>>();
  Session a(f32, 64), b(q8, 64);
  const float* la = f32.forward(a, toks, pool);
  const float* lb = q8.forward(b, toks, pool);
  int n = f32.config().n_vocab;
  EXPECT_EQ(std::max_element(la, la + n) - la, std::max_element(lb, lb + n) - lb);
  double maxd = 0;
  for (int i = 0; i < n; i++) maxd = std::max(maxd, std::fabs(double(la[i]) - lb[i]));
  EXPECT_LT(maxd, 0.5);
}

}  // namespace
}  // namespace mctr::infer
