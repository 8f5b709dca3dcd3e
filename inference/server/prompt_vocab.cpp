#include "server/prompt_vocab.h"

#include <algorithm>

namespace mctr::infer {

namespace {
// A stretch of the prompt: plain text still to encode, or a special token already found.
struct Fragment {
  int id;  // -1: plain text
  std::string text;
};

// Splits every plain fragment at each occurrence of `needle` (special token `id`).
void split_at(std::vector<Fragment>& frags, const std::string& needle, int id) {
  std::vector<Fragment> out;
  for (auto& f : frags) {
    if (f.id >= 0) {
      out.push_back(std::move(f));
      continue;
    }
    size_t from = 0;
    for (size_t at; (at = f.text.find(needle, from)) != std::string::npos; from = at + needle.size()) {
      if (at > from) out.push_back({-1, f.text.substr(from, at - from)});
      out.push_back({id, {}});
    }
    if (from < f.text.size()) out.push_back({-1, f.text.substr(from)});
  }
  frags = std::move(out);
}
}  // namespace

PromptVocab::PromptVocab(const Model& m) : tok_(m.tokenizer()) {
  const GgufFile& f = m.file();
  types_.assign(tok_.n_vocab(), TokenType::Normal);
  if (f.has("tokenizer.ggml.token_type")) {
    auto& t = f.get_ints("tokenizer.ggml.token_type");
    for (size_t i = 0; i < t.size() && i < types_.size(); i++) types_[i] = static_cast<TokenType>(t[i]);
  }
  for (int id = 0; id < tok_.n_vocab(); id++) {
    TokenType t = types_[id];
    if ((t == TokenType::Control || t == TokenType::UserDefined || t == TokenType::Unknown) &&
        !tok_.raw_piece(id).empty())
      specials_.push_back(id);
  }
  std::stable_sort(specials_.begin(), specials_.end(),
                   [&](int a, int b) { return tok_.raw_piece(a).size() > tok_.raw_piece(b).size(); });
}

std::vector<int> PromptVocab::tokenize(const std::string& text, bool add_special, bool parse_special) const {
  std::vector<Fragment> frags;
  if (!text.empty()) frags.push_back({-1, text});
  for (int id : specials_) {
    // Without parse_special only user-defined pieces are matched (as llama.cpp does).
    if (!parse_special && types_[id] != TokenType::UserDefined) continue;
    split_at(frags, tok_.raw_piece(id), id);
  }
  std::vector<int> out;
  if (add_special && tok_.add_bos()) out.push_back(tok_.bos());
  for (auto& f : frags) {
    if (f.id >= 0) {
      out.push_back(f.id);
      continue;
    }
    // Every plain stretch follows the start or a special token, so llama.cpp gives each one
    // the space prefix, which is what encode() does.
    auto ids = tok_.encode(f.text, false);
    out.insert(out.end(), ids.begin(), ids.end());
  }
  return out;
}

std::string PromptVocab::piece(int id) const {
  if (!tok_.valid(id)) return "";
  switch (types_[id]) {
    case TokenType::Control:
      return tok_.raw_piece(id);
    case TokenType::Unused:
      return "";
    case TokenType::Unknown:
      return "\xe2\x96\x85";  // llama.cpp's text for an unknown token
    default:
      return tok_.piece(id);
  }
}

std::string PromptVocab::detokenize(const std::vector<int>& ids) const {
  std::string out;
  for (int id : ids) out += piece(id);
  return out;
}

bool valid_utf8(const std::string& s) {
  for (size_t i = 0; i < s.size();) {
    auto c = static_cast<unsigned char>(s[i]);
    size_t n = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    for (size_t k = 1; k < n; k++)
      if ((static_cast<unsigned char>(s[i + k]) & 0xc0) != 0x80) return false;
    i += n;
  }
  return true;
}

}  // namespace mctr::infer
