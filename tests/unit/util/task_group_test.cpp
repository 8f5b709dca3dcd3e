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
