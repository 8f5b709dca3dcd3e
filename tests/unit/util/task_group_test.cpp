// TaskGroup: tasks really run side by side but never more than `width` at
// once, the first error comes back from wait() and run(), and no task is
// started after it.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <thread>

#include "util/parallel.h"

using namespace mctr;

namespace {

TEST(TaskGroup, RunsUpToWidthTasksAtOnce) {
  std::atomic<int> running{0}, most{0};
  TaskGroup group(2);
  for (int i = 0; i < 6; ++i)
    group.run([&] {
      int now = ++running;
      for (int seen = most; now > seen && !most.compare_exchange_weak(seen, now);) {
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(30));
      --running;
    });
  group.wait();
  EXPECT_EQ(most, 2) << "two tasks should have overlapped, never three";
}

TEST(TaskGroup, FirstErrorStopsTheGroup) {
  std::atomic<bool> others_saw_stop{false};
  TaskGroup group(2);
  group.run([&] {
    while (!group.stopped()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    others_saw_stop = true;
  });
  group.run([] { throw std::runtime_error("layer 2 is bad"); });
  // Both threads are busy until the error: this run() waits, then throws it.
  bool started_after = false;
  EXPECT_THROW(group.run([&] { started_after = true; }), std::runtime_error);
  EXPECT_FALSE(started_after);
  try {
    group.wait();
    ADD_FAILURE() << "wait() should rethrow";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "layer 2 is bad");
  }
  EXPECT_TRUE(others_saw_stop) << "the running task should have seen stopped()";
}

// A task past its last stopped() check (a layer renaming itself into place)
// runs on after another failed. run() must not throw before it is done: the
// caller unwinds on that exception and frees what the task still uses (the
// fuzzer's AddressSanitizer finding in Store::load).
TEST(TaskGroup, RunThatThrowsHasJoinedEveryTask) {
  std::atomic<bool> slow_done{false};
  TaskGroup group(3);
  group.run([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    slow_done = true;
  });
  group.run([] { throw std::runtime_error("layer 2 is bad"); });
  while (!group.stopped()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  EXPECT_THROW(group.run([] {}), std::runtime_error);
  EXPECT_TRUE(slow_done) << "run() threw while a task was still running";
  EXPECT_THROW(group.wait(), std::runtime_error);
}

// Tasks that run on the calling thread (no thread could be made, or
// --explain) give their error the same way, after the threaded ones are done.
TEST(TaskGroup, WaitAfterAnErrorJoinsAndRethrowsEveryTime) {
  TaskGroup group(2);
  group.run([] { throw std::runtime_error("bad"); });
  EXPECT_THROW(group.wait(), std::runtime_error);
  EXPECT_THROW(group.wait(), std::runtime_error) << "the error stays until the group is gone";
  EXPECT_THROW(group.run([] { ADD_FAILURE() << "started after the error"; }), std::runtime_error);
}

TEST(TaskGroup, DestructorStopsAndJoins) {
  std::atomic<bool> done{false};
  {
    TaskGroup group(1);
    group.run([&] {
      while (!group.stopped()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
      done = true;
    });
  }
  EXPECT_TRUE(done);
}

}  // namespace
