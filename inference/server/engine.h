// The generation engine behind the HTTP API: one model, a thread pool for its matmuls, and
// N slots, each with its own KV cache, so N requests generate at the same time (their
// forward passes take turns on the pool, token by token).
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "model/sampler.h"
#include "model/transformer.h"

namespace mctr::infer {

struct CompletionRequest {
  std::vector<int> prompt_tokens;  // already tokenized, BOS included
  int n_predict = -1;              // -1: until end of text or the context is full
  SamplingParams sampling;
  std::vector<std::string> stop;  // stop strings (not included in the output)
};

struct CompletionResult {
  std::string content;
  int slot = -1;
  int prompt_n = 0;      // prompt tokens evaluated (after reusing the slot's cached prefix)
  int prompt_total = 0;  // prompt tokens in the request
  int predicted_n = 0;
  double prompt_ms = 0;
  double predicted_ms = 0;
  std::string stop_type;  // "eos", "limit", "word" or "abort" (client went away)
  std::string stopping_word;
  uint64_t seed = 0;
  bool truncated = false;   // stopped because the context was full
  std::vector<int> tokens;  // the generated token ids (the stop string's included)
};

// Called with each new piece of text as soon as it is safe to show (no partial UTF-8
// character, no possible start of a stop string). Return false to abort.
using TextSink = std::function<bool(const std::string&)>;
// The same, with the ids of the tokens generated since the previous call.
using PieceSink = std::function<bool(const std::string&, const std::vector<int>&)>;

// What /slots shows of one slot: the request it runs (or ran last) and how far it is.
struct SlotInfo {
  int id = 0;
  int id_task = -1;  // -1: never used
  bool is_processing = false;
  int n_predict = -1;
  SamplingParams sampling;
  std::vector<std::string> stop;
  int n_decoded = 0;
  bool has_new_line = false;
};

struct EngineStats {
  std::atomic<uint64_t> prompt_tokens{0}, predicted_tokens{0}, requests{0};
  std::atomic<uint64_t> prompt_us{0}, predicted_us{0};
  std::atomic<int> processing{0}, deferred{0};
};

class Engine {
 public:
  Engine(const std::string& model_path, int n_threads, int n_ctx, int n_slots, KvTypes kv = {});

  const Model& model() const { return *model_; }
  int n_ctx() const { return n_ctx_; }
  int n_slots() const { return static_cast<int>(slots_.size()); }
  int n_threads() const { return pool_.size(); }
  const ThreadPool& pool() const { return pool_; }
  const EngineStats& stats() const { return stats_; }

  // Runs one completion on a free slot (waits for one if all are busy).
  CompletionResult complete(const CompletionRequest& req, const TextSink& sink);
  CompletionResult complete_pieces(const CompletionRequest& req, const PieceSink& sink);
  std::vector<SlotInfo> slots() const;

 private:
  struct Slot {
    std::unique_ptr<Session> session;
    std::vector<int> cached;  // tokens whose keys/values are in the session's cache
    bool busy = false;
    SlotInfo info;  // guarded by mu_
  };
  int acquire_slot(const std::vector<int>& prompt);
  void release_slot(int id);
  void generate(const CompletionRequest& req, Slot& slot, CompletionResult& res, const PieceSink& sink);
  void note_progress(Slot& slot, int n_decoded, bool new_line);

  std::unique_ptr<Model> model_;
  int n_ctx_;
  ThreadPool pool_;
  std::vector<Slot> slots_;
  mutable std::mutex mu_;
  std::condition_variable slot_free_;
  int next_task_ = 0;
  EngineStats stats_;
};

}  // namespace mctr::infer
