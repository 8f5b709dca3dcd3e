// The llama (SentencePiece-style) tokenizer, read from GGUF metadata:
// tokenizer.ggml.tokens / scores / token_type, bos/eos/unk ids.
//
// Encoding follows llama.cpp's SPM tokenizer: spaces become "▁" (U+2581), a "▁" is put in
// front, the text is split into UTF-8 characters, then the adjacent pair whose merge is a
// vocabulary piece with the highest score is merged, repeatedly. A symbol that is not a
// piece falls back to one <0xXX> byte token per byte.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

namespace mctr::infer {

class GgufFile;

enum class TokenType : int32_t {
  Normal = 1,
  Unknown = 2,
  Control = 3,
  UserDefined = 4,
  Unused = 5,
  Byte = 6
};

class Tokenizer {
 public:
  Tokenizer() = default;
  explicit Tokenizer(const GgufFile& f);
  // Build directly (tests): pieces, scores, types must have the same length.
  Tokenizer(std::vector<std::string> pieces, std::vector<float> scores, std::vector<TokenType> types, int bos,
            int eos, int unk);

  int n_vocab() const { return static_cast<int>(pieces_.size()); }
  int bos() const { return bos_; }
  int eos() const { return eos_; }
  bool add_bos() const { return add_bos_; }

  std::vector<int> encode(const std::string& text, bool add_bos) const;
  // The bytes one token stands for (control tokens give "", byte tokens one raw byte).
  std::string piece(int id) const;
  // Concatenated pieces; drops the space the encoder put in front of the first word.
  std::string decode(const std::vector<int>& ids) const;
  const std::string& raw_piece(int id) const { return pieces_.at(id); }
  bool valid(int id) const { return id >= 0 && id < n_vocab(); }

 private:
  void index();
  std::vector<std::string> pieces_;
  std::vector<float> scores_;
  std::vector<TokenType> types_;
  std::unordered_map<std::string, int> ids_;
  int byte_ids_[256] = {};
  int bos_ = 1, eos_ = 2, unk_ = 0;
  bool add_bos_ = true;
  bool add_space_prefix_ = true;
};

}  // namespace mctr::infer
