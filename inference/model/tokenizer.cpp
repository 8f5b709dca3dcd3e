#include "model/tokenizer.h"

#include <cstdio>
#include <queue>

#include "model/gguf.h"
#include "util/error.h"

namespace mctr::infer {

namespace {
const std::string kSpace = "\xe2\x96\x81";  // U+2581 LOWER ONE EIGHTH BLOCK, SentencePiece's space

size_t utf8_len(unsigned char c) {
  if (c < 0x80) return 1;
  if ((c & 0xe0) == 0xc0) return 2;
  if ((c & 0xf0) == 0xe0) return 3;
  if ((c & 0xf8) == 0xf0) return 4;
  return 1;  // stray continuation byte: a symbol of its own
}
}  // namespace

Tokenizer::Tokenizer(const GgufFile& f) {
  std::string model = f.get_string("tokenizer.ggml.model");
  if (model != "llama")
    throw Error("gguf " + f.path() + ": tokenizer model '" + model + "' is not supported (llama is)");
  pieces_ = f.get_strings("tokenizer.ggml.tokens");
  size_t n = pieces_.size();
  if (n == 0) throw Error("gguf " + f.path() + ": empty vocabulary");
  scores_.assign(n, 0.0f);
  if (f.has("tokenizer.ggml.scores")) {
    auto& s = f.get_floats("tokenizer.ggml.scores");
    if (s.size() != n) throw Error("gguf " + f.path() + ": tokenizer.ggml.scores has the wrong length");
    for (size_t i = 0; i < n; i++) scores_[i] = static_cast<float>(s[i]);
  }
  types_.assign(n, TokenType::Normal);
  if (f.has("tokenizer.ggml.token_type")) {
    auto& t = f.get_ints("tokenizer.ggml.token_type");
    if (t.size() != n) throw Error("gguf " + f.path() + ": tokenizer.ggml.token_type has the wrong length");
    for (size_t i = 0; i < n; i++) types_[i] = static_cast<TokenType>(t[i]);
  }
  bos_ = static_cast<int>(f.get_uint("tokenizer.ggml.bos_token_id", 1));
  eos_ = static_cast<int>(f.get_uint("tokenizer.ggml.eos_token_id", 2));
  unk_ = static_cast<int>(f.get_uint("tokenizer.ggml.unknown_token_id", 0));
  if (!valid(bos_) || !valid(eos_) || !valid(unk_))
    throw Error("gguf " + f.path() + ": special token id out of range");
  add_bos_ = f.get_bool("tokenizer.ggml.add_bos_token", true);
  add_space_prefix_ = f.get_bool("tokenizer.ggml.add_space_prefix", true);
  index();
}

Tokenizer::Tokenizer(std::vector<std::string> pieces, std::vector<float> scores, std::vector<TokenType> types,
                     int bos, int eos, int unk)
    : pieces_(std::move(pieces)),
      scores_(std::move(scores)),
      types_(std::move(types)),
      bos_(bos),
      eos_(eos),
      unk_(unk) {
  if (scores_.size() != pieces_.size() || types_.size() != pieces_.size())
    throw Error("tokenizer: pieces, scores and types differ in length");
  index();
}

void Tokenizer::index() {
  for (int& b : byte_ids_) b = -1;
  for (int i = 0; i < n_vocab(); i++) {
    ids_.emplace(pieces_[i], i);  // first occurrence wins, as in llama.cpp
    unsigned v;
    if (types_[i] == TokenType::Byte && pieces_[i].size() == 6 &&
        std::sscanf(pieces_[i].c_str(), "<0x%02X>", &v) == 1)
      byte_ids_[v & 0xff] = i;
  }
}

std::vector<int> Tokenizer::encode(const std::string& text, bool with_bos) const {
  std::vector<int> out;
  if (with_bos) out.push_back(bos_);
  if (text.empty()) return out;

  std::string s = add_space_prefix_ ? " " + text : text;
  std::string norm;
  for (char c : s) norm += c == ' ' ? kSpace : std::string(1, c);

  // Symbols form a doubly linked list over `norm`; merging joins a symbol with its right neighbour.
  struct Sym {
    int prev, next;
    size_t start, len;
  };
  std::vector<Sym> sym;
  for (size_t i = 0; i < norm.size();) {
    size_t len = std::min(utf8_len(static_cast<unsigned char>(norm[i])), norm.size() - i);
    int idx = static_cast<int>(sym.size());
    sym.push_back({idx - 1, idx + 1, i, len});
    i += len;
  }
  sym.back().next = -1;

  struct Bigram {
    int left, right;
    float score;
    size_t len;
  };
  auto worse = [](const Bigram& a, const Bigram& b) {
    return a.score < b.score || (a.score == b.score && a.left > b.left);  // best score, then leftmost
  };
  std::priority_queue<Bigram, std::vector<Bigram>, decltype(worse)> queue(worse);
  auto try_pair = [&](int l, int r) {
    if (l < 0 || r < 0) return;
    auto it = ids_.find(norm.substr(sym[l].start, sym[l].len + sym[r].len));
    if (it == ids_.end()) return;
    queue.push({l, r, scores_[it->second], sym[l].len + sym[r].len});
  };
  for (size_t i = 1; i < sym.size(); i++) try_pair(static_cast<int>(i) - 1, static_cast<int>(i));

  while (!queue.empty()) {
    Bigram b = queue.top();
    queue.pop();
    Sym& l = sym[b.left];
    Sym& r = sym[b.right];
    if (l.len == 0 || r.len == 0 || l.len + r.len != b.len) continue;  // stale entry
    l.len += r.len;
    r.len = 0;
    l.next = r.next;
    if (r.next >= 0) sym[r.next].prev = b.left;
    try_pair(l.prev, b.left);
    try_pair(b.left, l.next);
  }

  for (int i = 0; i != -1 && i < static_cast<int>(sym.size()); i = sym[i].next) {
    std::string piece = norm.substr(sym[i].start, sym[i].len);
    auto it = ids_.find(piece);
    if (it != ids_.end()) {
      out.push_back(it->second);
      continue;
    }
    for (unsigned char c : piece) out.push_back(byte_ids_[c] >= 0 ? byte_ids_[c] : unk_);
  }
  return out;
}

std::string Tokenizer::piece(int id) const {
  if (!valid(id)) return "";
  switch (types_[id]) {
    case TokenType::Control:
    case TokenType::Unused:
      return "";
    case TokenType::Byte: {
      unsigned v;
      if (std::sscanf(pieces_[id].c_str(), "<0x%02X>", &v) == 1) return std::string(1, static_cast<char>(v));
      return "";
    }
    case TokenType::Unknown:
      return " \xe2\x81\x87 ";  // what sentencepiece prints for <unk>
    default: {
      std::string out;
      const std::string& p = pieces_[id];
      for (size_t i = 0; i < p.size();) {
        if (p.compare(i, kSpace.size(), kSpace) == 0) {
          out += ' ';
          i += kSpace.size();
        } else {
          out += p[i++];
        }
      }
      return out;
    }
  }
}

std::string Tokenizer::decode(const std::vector<int>& ids) const {
  std::string out;
  for (int id : ids) out += piece(id);
  if (add_space_prefix_ && !out.empty() && out[0] == ' ') out.erase(0, 1);
  return out;
}

}  // namespace mctr::infer
