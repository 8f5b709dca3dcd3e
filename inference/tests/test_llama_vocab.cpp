// The tokenizer against llama.cpp's own tokenizer test data: tests/data/ggml-vocab-llama-spm.gguf
// is the Llama 2 SentencePiece vocabulary (32000 pieces, the tokenizer of TinyLlama and the
// llama2.c "stories" models) as written by llama.cpp's convert_hf_to_gguf.py, and the .inp /
// .out files beside it are llama.cpp's test inputs and the token ids the reference tokenizer
// gives for them (llama.cpp's tests/test-tokenizer-0 checks the same pairs). Provenance and
// licence: tests/data/README.md.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "model/gguf.h"
#include "model/tokenizer.h"
#include "model/transformer.h"
#include "util/error.h"

namespace mctr::infer {
namespace {

const std::string kVocab = std::string(MINICTR_TEST_DATA) + "/ggml-vocab-llama-spm.gguf";

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open " + path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

struct Case {
  std::string text;
  std::vector<int> ids;
};

// Inputs are separated by "\n__ggml_vocab_test__\n"; the outputs are one line of ids per input.
std::vector<Case> read_cases() {
  const std::string raw = read_all(kVocab + ".inp");
  const std::string sep = "\n__ggml_vocab_test__\n";
  std::vector<std::string> inputs;
  for (size_t pos = 0; pos < raw.size();) {
    size_t next = raw.find(sep, pos);
    if (next == std::string::npos) {
      inputs.push_back(raw.substr(pos));
      break;
    }
    inputs.push_back(raw.substr(pos, next - pos));
    pos = next + sep.size();
  }
  std::istringstream out(read_all(kVocab + ".out"));
  std::vector<Case> cases;
  std::string line;
  for (size_t i = 0; std::getline(out, line); i++) {
    if (i >= inputs.size()) throw std::runtime_error("more outputs than inputs");
    Case c{inputs[i], {}};
    std::istringstream ids(line);
    for (int id; ids >> id;) c.ids.push_back(id);
    cases.push_back(std::move(c));
  }
  if (cases.size() != inputs.size()) throw std::runtime_error("fewer outputs than inputs");
  return cases;
}

std::string show(const std::vector<int>& ids) {
  std::ostringstream s;
  for (int id : ids) s << ' ' << id;
  return s.str();
}

TEST(LlamaVocab, MetadataAsWrittenByLlamaCpp) {
  GgufFile f(kVocab);
  EXPECT_EQ(f.version(), 3u);
  EXPECT_EQ(f.get_string("general.architecture"), "llama");
  EXPECT_EQ(f.get_string("tokenizer.ggml.model"), "llama");
  EXPECT_TRUE(f.tensors().empty());  // a vocabulary-only file
  Tokenizer t(f);
  EXPECT_EQ(t.n_vocab(), 32000);
  EXPECT_EQ(t.bos(), 1);
  EXPECT_EQ(t.eos(), 2);
  EXPECT_TRUE(t.add_bos());
  EXPECT_EQ(t.raw_piece(1), "<s>");
  EXPECT_EQ(t.raw_piece(15043), "\xe2\x96\x81Hello");  // ▁Hello
}

TEST(LlamaVocab, EncodesLikeLlamaCpp) {
  Tokenizer t{GgufFile(kVocab)};
  auto cases = read_cases();
  ASSERT_GE(cases.size(), 40u);
  for (const Case& c : cases)
    EXPECT_EQ(t.encode(c.text, false), c.ids)
        << "text [" << c.text << "]\n ours:" << show(t.encode(c.text, false))
        << "\n llama.cpp:" << show(c.ids);
}

TEST(LlamaVocab, DecodeRoundTrips) {
  Tokenizer t{GgufFile(kVocab)};
  for (const Case& c : read_cases()) EXPECT_EQ(t.decode(c.ids), c.text) << "ids" << show(c.ids);
}

TEST(LlamaVocab, AddsBosInFront) {
  Tokenizer t{GgufFile(kVocab)};
  EXPECT_EQ(t.encode("Hello world", true), (std::vector<int>{1, 15043, 3186}));
}

TEST(LlamaVocab, VocabularyOnlyFileIsNotAModel) {
  // No tensors: loading it as a model must fail with one clear error, not crash.
  try {
    Model m(kVocab);
    FAIL() << "loaded a model without weights";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("token_embd.weight"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace mctr::infer
