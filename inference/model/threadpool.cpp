#include "model/threadpool.h"

#include <immintrin.h>

#include <algorithm>
#include <memory>
#include <system_error>

namespace mctr::infer {

std::vector<std::thread> start_threads(int n, const std::function<void()>& body, std::string* why,
                                       const ThreadStarter& starter) {
  std::vector<std::thread> threads;
  threads.reserve(n > 0 ? n : 0);  // so push_back below cannot throw with threads running
  for (int i = 0; i < n; i++) {
    try {
      threads.push_back(starter ? starter(body) : std::thread(body));
    } catch (const std::exception& e) {
      // Usually a std::system_error: clone() failed with EAGAIN because the pids cgroup
      // (or RLIMIT_NPROC) is full.
      if (why) *why = e.what();
      break;
    }
  }
  return threads;
}

ThreadPool::ThreadPool(int n_threads, const ThreadStarter& starter)
    : requested_(std::max(1, n_threads)), slots_(std::make_unique<Slot[]>(requested_)) {
  // Worker i (in the order they start) owns slot i + 1. n_slots_ is set once they run: a
  // worker reads it only in a job, and run() posts jobs after the constructor.
  auto next_slot = std::make_shared<std::atomic<int>>(1);
  workers_ = start_threads(
      requested_ - 1, [this, next_slot] { worker_loop((*next_slot)++); }, &start_error_, starter);
  n_slots_ = size();
}

ThreadPool::~ThreadPool() { stop_and_join(); }

void ThreadPool::stop_and_join() {
  {
    std::lock_guard lk(mu_);
    stop_ = true;
  }
  wake_.notify_all();
  for (auto& t : workers_) t.join();
  workers_.clear();
}

void ThreadPool::drain(uint32_t gen, int slot) {
  Slot& sl = slots_[slot];
  for (;;) {
    uint64_t s = sl.state.load(std::memory_order_acquire);
    uint32_t idx = static_cast<uint32_t>(s);
    if (s >> 32 != gen || idx >= static_cast<uint32_t>(sl.count.load(std::memory_order_acquire))) return;
    const int task = sl.begin.load(std::memory_order_acquire) + static_cast<int>(idx);
    const std::function<void(int)>* fn = fn_.load(std::memory_order_acquire);
    if (!sl.state.compare_exchange_weak(s, s + 1, std::memory_order_acq_rel)) continue;
    (*fn)(task);
    done_.fetch_add(1, std::memory_order_acq_rel);
  }
}

void ThreadPool::work_on(uint32_t gen, int own) {
  for (int k = 0; k < n_slots_; k++) drain(gen, (own + k) % n_slots_);
}

void ThreadPool::worker_loop(int slot) {
  uint32_t seen = 0;
  while (!stop_.load(std::memory_order_relaxed)) {
    uint32_t gen = gen_.load(std::memory_order_acquire);
    if (gen != seen) {
      seen = gen;
      work_on(gen, slot);
      continue;
    }
    // Spin a little for the next job, then sleep until run() posts one.
    bool fresh = false;
    for (int spin = 0; spin < 4000 && !fresh; spin++) {
      _mm_pause();
      fresh = gen_.load(std::memory_order_relaxed) != seen;
    }
    if (fresh) continue;
    std::unique_lock lk(mu_);
    sleepers_++;
    wake_.wait(lk, [&] { return stop_ || gen_.load() != seen; });
    sleepers_--;
  }
}

void ThreadPool::run(int n, const std::function<void(int)>& fn) {
  if (n <= 0) return;
  std::lock_guard run_lk(run_mu_);
  if (workers_.empty() || n == 1) {
    for (int i = 0; i < n; i++) fn(i);
    return;
  }
  // The previous job is fully done (done_ == its n), so no thread is inside fn_ now.
  // But a worker may still be in drain() for it, holding a snapshot of a slot's state
  // with a free-looking index. Retire every slot first (a generation of its own with no
  // tasks), so the worker's compare-exchange fails: otherwise, seeing the new begin and
  // count, it could claim a task of the old job after fn_/done_ changed, run a task twice
  // and push done_ past n, and the wait below never ended.
  const uint32_t cur = gen_.load(std::memory_order_relaxed);
  for (int i = 0; i < n_slots_; i++)
    slots_[i].state.store((static_cast<uint64_t>(cur + 1) << 32) | 0xFFFFFFFFu);
  const uint32_t gen = cur + 2;
  fn_.store(&fn);
  done_.store(0);
  for (int i = 0; i < n_slots_; i++) {  // contiguous ranges, as even as they can be
    const int begin = static_cast<int>(static_cast<int64_t>(n) * i / n_slots_);
    slots_[i].begin.store(begin);
    slots_[i].count.store(static_cast<int>(static_cast<int64_t>(n) * (i + 1) / n_slots_) - begin);
    slots_[i].state.store(static_cast<uint64_t>(gen) << 32);
  }
  gen_.store(gen);  // seq_cst: pairs with sleepers_ below
  if (sleepers_.load() > 0) {
    std::lock_guard lk(mu_);  // pairs with the waiters' predicate check
    wake_.notify_all();
  }
  work_on(gen, 0);
  // Wait only for tasks other threads have claimed and are running.
  for (int spin = 0; done_.load(std::memory_order_acquire) < n; spin++) {
    if (spin < 4000)
      _mm_pause();
    else
      std::this_thread::yield();
  }
}

}  // namespace mctr::infer
