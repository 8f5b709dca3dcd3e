#include "server/engine.h"

#include <algorithm>
#include <chrono>

#include "util/error.h"

namespace mctr::infer {

namespace {
using Clock = std::chrono::steady_clock;
double ms_since(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

// Length of the longest prefix of `text` that ends on a whole UTF-8 character.
size_t utf8_complete_prefix(const std::string& text) {
  size_t n = text.size();
  for (size_t back = 1; back <= std::min<size_t>(4, n); back++) {
    auto c = static_cast<unsigned char>(text[n - back]);
    if ((c & 0xc0) == 0x80) continue;  // continuation byte: keep looking for the lead byte
    size_t need = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 ? 4 : 1;
    return need > back ? n - back : n;
  }
  return n;
}

// Length of the longest suffix of `text` that is a proper prefix of some stop string.
size_t partial_stop_len(const std::string& text, const std::vector<std::string>& stops) {
  size_t best = 0;
  for (auto& s : stops)
    for (size_t len = s.empty() ? 0 : std::min(s.size() - 1, text.size()); len > best; len--)
      if (text.compare(text.size() - len, len, s, 0, len) == 0) {
        best = len;
        break;
      }
  return best;
}
}  // namespace

Engine::Engine(const std::string& model_path, int n_threads, int n_ctx, int n_slots, KvTypes kv)
    : model_(std::make_unique<Model>(model_path)),
      n_ctx_(n_ctx > 0 ? n_ctx : model_->config().ctx_len),
      pool_(std::max(1, n_threads)) {
  if (n_slots < 1) throw Error("need at least one slot");
  slots_.resize(n_slots);
  for (int i = 0; i < n_slots; i++) {
    slots_[i].session = std::make_unique<Session>(*model_, n_ctx_, kv);
    slots_[i].info.id = i;
  }
}

int Engine::acquire_slot(const std::vector<int>& prompt) {
  std::unique_lock lk(mu_);
  bool waited = false;
  auto any_free = [&] { return std::any_of(slots_.begin(), slots_.end(), [](auto& s) { return !s.busy; }); };
  if (!any_free()) {
    stats_.deferred++;
    waited = true;
    slot_free_.wait(lk, any_free);
  }
  if (waited) stats_.deferred--;
  // Prefer the free slot whose cache shares the longest prefix with this prompt.
  int best = -1;
  size_t best_common = 0;
  for (int i = 0; i < n_slots(); i++) {
    if (slots_[i].busy) continue;
    auto& c = slots_[i].cached;
    size_t common = std::mismatch(c.begin(), c.end(), prompt.begin(), prompt.end()).first - c.begin();
    if (best < 0 || common > best_common) best = i, best_common = common;
  }
  slots_[best].busy = true;
  slots_[best].info.is_processing = true;
  slots_[best].info.id_task = next_task_++;
  slots_[best].info.n_decoded = 0;
  slots_[best].info.has_new_line = false;
  stats_.processing++;
  return best;
}

void Engine::release_slot(int id) {
  {
    std::lock_guard lk(mu_);
    slots_[id].busy = false;
    slots_[id].info.is_processing = false;
    stats_.processing--;
  }
  slot_free_.notify_one();
}

CompletionResult Engine::complete(const CompletionRequest& req, const TextSink& sink) {
  if (!sink) return complete_pieces(req, nullptr);
  return complete_pieces(req, [&](const std::string& text, const std::vector<int>&) { return sink(text); });
}

std::vector<SlotInfo> Engine::slots() const {
  std::lock_guard lk(mu_);
  std::vector<SlotInfo> out;
  for (auto& s : slots_) out.push_back(s.info);
  return out;
}

void Engine::note_progress(Slot& slot, int n_decoded, bool new_line) {
  std::lock_guard lk(mu_);
  slot.info.n_decoded = n_decoded;
  slot.info.has_new_line = slot.info.has_new_line || new_line;
}

CompletionResult Engine::complete_pieces(const CompletionRequest& req, const PieceSink& sink) {
  if (req.prompt_tokens.empty()) throw Error("empty prompt");
  if (static_cast<int>(req.prompt_tokens.size()) >= n_ctx_) throw Error("prompt does not fit the context");

  CompletionResult res;
  res.slot = acquire_slot(req.prompt_tokens);
  Slot& slot = slots_[res.slot];
  struct Release {
    Engine* e;
    int id;
    ~Release() { e->release_slot(id); }
  } release{this, res.slot};

  // Reuse the cached prefix; at least the last prompt token is evaluated to get logits.
  auto& cached = slot.cached;
  size_t common =
      std::mismatch(cached.begin(), cached.end(), req.prompt_tokens.begin(), req.prompt_tokens.end()).first -
      cached.begin();
  common = std::min(common, req.prompt_tokens.size() - 1);
  Session& s = *slot.session;
  s.truncate(static_cast<int>(common));
  cached.resize(common);

  try {
    generate(req, slot, res, sink);
  } catch (...) {
    slot.cached.clear();  // the cache may hold a half-evaluated batch: start afresh next time
    s.reset();
    throw;
  }
  stats_.requests++;
  stats_.prompt_tokens += res.prompt_n;
  stats_.predicted_tokens += res.predicted_n;
  stats_.prompt_us += static_cast<uint64_t>(res.prompt_ms * 1000);
  stats_.predicted_us += static_cast<uint64_t>(res.predicted_ms * 1000);
  return res;
}

void Engine::generate(const CompletionRequest& req, Slot& slot, CompletionResult& res,
                      const PieceSink& sink) {
  const Tokenizer& tok = model_->tokenizer();
  Session& s = *slot.session;
  auto& cached = slot.cached;
  size_t common = cached.size();
  auto t0 = Clock::now();
  std::vector<int> todo(req.prompt_tokens.begin() + static_cast<std::ptrdiff_t>(common),
                        req.prompt_tokens.end());
  const float* logits = model_->forward(s, todo, pool_);
  cached.insert(cached.end(), todo.begin(), todo.end());
  res.prompt_total = static_cast<int>(req.prompt_tokens.size());
  res.prompt_n = static_cast<int>(todo.size());
  res.prompt_ms = ms_since(t0);

  Sampler sampler(req.sampling);
  res.seed = sampler.seed();
  {
    std::lock_guard lk(mu_);
    SlotInfo& info = slot.info;
    info.n_predict = req.n_predict;
    info.sampling = req.sampling;
    info.stop = req.stop;
    info.n_decoded = 0;
    info.has_new_line = false;
  }
  size_t tokens_sent = 0;  // entries of res.tokens handed to the sink
  std::vector<int> recent = req.prompt_tokens;
  std::string text;  // everything generated so far
  size_t sent = 0;   // bytes of `text` handed to the sink
  auto t1 = Clock::now();
  for (;;) {
    if (req.n_predict >= 0 && res.predicted_n >= req.n_predict) {
      res.stop_type = "limit";
      break;
    }
    int next = sampler.sample(logits, model_->config().n_vocab, recent);
    if (next == tok.eos()) {
      res.stop_type = "eos";
      break;
    }
    res.predicted_n++;
    recent.push_back(next);
    res.tokens.push_back(next);
    std::string piece = tok.piece(next);
    text += piece;
    note_progress(slot, res.predicted_n, piece.find('\n') != std::string::npos);

    bool hit = false;
    for (auto& stop : req.stop) {
      if (stop.empty()) continue;
      size_t from = sent > stop.size() ? sent - stop.size() : 0;
      size_t at = text.find(stop, from);
      if (at != std::string::npos) {
        text.resize(at);
        res.stop_type = "word";
        res.stopping_word = stop;
        hit = true;
        break;
      }
    }
    size_t safe = hit ? text.size() : utf8_complete_prefix(text);
    if (!hit) safe = std::min(safe, text.size() - partial_stop_len(text, req.stop));
    if (safe > sent) {
      std::vector<int> new_tokens(res.tokens.begin() + static_cast<std::ptrdiff_t>(tokens_sent),
                                  res.tokens.end());
      tokens_sent = res.tokens.size();
      if (sink && !sink(text.substr(sent, safe - sent), new_tokens)) {
        res.stop_type = "abort";
        break;
      }
      sent = safe;
    }
    if (hit) break;
    // The context holds the prompt and what was generated (as llama.cpp without context
    // shift): the token that fills it is the last one.
    if (s.n_past() + 1 >= n_ctx_) {
      res.stop_type = "limit";
      res.truncated = true;
      break;
    }
    logits = model_->forward(s, {next}, pool_);
    cached.push_back(next);
  }
  // Whatever was held back (a partial stop string that never completed) goes out now.
  if (res.stop_type != "abort" && sent < text.size() && sink)
    sink(text.substr(sent),
         std::vector<int>(res.tokens.begin() + static_cast<std::ptrdiff_t>(tokens_sent), res.tokens.end()));
  res.content = text;
  res.predicted_ms = ms_since(t1);
}

}  // namespace mctr::infer
