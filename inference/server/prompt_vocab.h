// Text <-> tokens the way llama.cpp's server does it, on top of the model's Tokenizer:
//  - special tokens written in the text ("<s>", "</s>", any control or user-defined piece)
//    become their ids when parse_special is set (the prompt of /completion, /tokenize by
//    default), and each stretch of plain text between them is encoded on its own, with the
//    SentencePiece space prefix (llama.cpp's tokenizer_st_partition + SPM fragments);
//  - a token's text is its piece with special tokens kept ("<s>") and nothing stripped, so
//    /detokenize [1, 15043] is "<s> Hello" as in llama.cpp (common_token_to_piece).
// The token types are read from the GGUF (tokenizer.ggml.token_type), as the Tokenizer does.
#pragma once

#include <string>
#include <vector>

#include "model/transformer.h"

namespace mctr::infer {

class PromptVocab {
 public:
  explicit PromptVocab(const Model& m);

  // add_special: BOS in front when the model asks for one (tokenizer.ggml.add_bos_token).
  std::vector<int> tokenize(const std::string& text, bool add_special, bool parse_special) const;
  // The text of one token: control tokens as written ("<s>"), byte tokens as their byte,
  // the SentencePiece space as ' ', unused tokens as "".
  std::string piece(int id) const;
  // The concatenated pieces, the leading space and special tokens kept.
  std::string detokenize(const std::vector<int>& ids) const;
  const Tokenizer& tokenizer() const { return tok_; }

 private:
  const Tokenizer& tok_;
  std::vector<TokenType> types_;
  // Control, user-defined and unknown tokens, longest text first (llama.cpp matches the
  // longest one at each position because it partitions by the longest tokens first).
  std::vector<int> specials_;
};

// True when `s` is whole UTF-8 characters (a /tokenize piece that is not goes out as bytes).
bool valid_utf8(const std::string& s);

}  // namespace mctr::infer
