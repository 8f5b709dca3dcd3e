// run_both, Background and InAdvance: the step really runs beside this thread (it blocks
// on a pipe that only this thread writes), errors come back from join(), and
// the destructor waits for the step.
#include "util/parallel.h"

#include <gtest/gtest.h>
#include <pthread.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <stdexcept>

#include "util/fd.h"

using namespace mctr;

namespace {

struct Pipe {
  UniqueFd r, w;
  Pipe() {
    int fds[2];
    if (::pipe(fds) != 0) throw std::runtime_error("pipe");
    r.reset(fds[0]);
    w.reset(fds[1]);
  }
  char read_byte() const {
    char c = 0;
    return ::read(r.get(), &c, 1) == 1 ? c : 0;
  }
  void write_byte(char c) const { ASSERT_EQ(1, ::write(w.get(), &c, 1)); }
};

TEST(Background, RunsBesideTheCallingThread) {
  Pipe to_step, from_step;
  // The step waits for a byte that this thread sends only after the
  // constructor returned: run inline, it would block forever.
  Background step([&] { from_step.write_byte(to_step.read_byte()); });
  to_step.write_byte('x');
  EXPECT_EQ('x', from_step.read_byte());
  step.join();
}

TEST(Background, JoinRethrowsTheStepsErrorOnce) {
  Background step([] { throw std::runtime_error("no cgroup"); });
  try {
    step.join();
    FAIL() << "join() did not rethrow";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ("no cgroup", e.what());
  }
  EXPECT_NO_THROW(step.join());
}

TEST(Background, DestructorWaitsForTheStep) {
  std::atomic<bool> done{false};
  Pipe go;
  {
    Background step([&] {
      go.read_byte();
      done = true;
    });
    go.write_byte('g');
  }
  EXPECT_TRUE(done);
}

TEST(Background, DestructorDropsAnUncollectedError) {
  EXPECT_NO_THROW({ Background step([] { throw std::runtime_error("dropped"); }); });
}

TEST(InAdvance, TakeWaitsForTheValueNotForTheThreadsExit) {
  Pipe to_maker, made;
  InAdvance<int> value([&] {
    made.write_byte(to_maker.read_byte());
    return 42;
  });
  to_maker.write_byte('m');  // after the constructor: run inline, it would block forever
  EXPECT_EQ('m', made.read_byte());
  EXPECT_EQ(42, value.take());
}

TEST(InAdvance, TakeRethrowsWhatMadeNoValue) {
  InAdvance<int> value([]() -> int { throw std::runtime_error("no namespace"); });
  try {
    value.take();
    FAIL() << "take() did not rethrow";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ("no namespace", e.what());
  }
}

TEST(InAdvance, ItsThreadBlocksEverySignal) {
  InAdvance<bool> blocked([] {
    sigset_t mask;
    pthread_sigmask(SIG_BLOCK, nullptr, &mask);
    return sigismember(&mask, SIGTERM) == 1 && sigismember(&mask, SIGINT) == 1;
  });
  EXPECT_TRUE(blocked.take());
  sigset_t ours;
  pthread_sigmask(SIG_BLOCK, nullptr, &ours);
  EXPECT_EQ(0, sigismember(&ours, SIGTERM));  // the calling thread's mask is untouched
}

TEST(RunBoth, RunsBothConcurrentlyAndRethrowsTheFirstError) {
  Pipe a_to_b;
  int b_got = 0;
  // b (this thread) waits for a byte from a (the second thread).
  run_both([&] { a_to_b.write_byte('a'); }, [&] { b_got = a_to_b.read_byte(); });
  EXPECT_EQ('a', b_got);
  EXPECT_THROW(run_both([] { throw std::runtime_error("a"); }, [] {}), std::runtime_error);
  try {
    run_both([] { throw std::runtime_error("a"); }, [] { throw std::logic_error("b"); });
    FAIL() << "no error";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ("a", e.what());
  }
}

}  // namespace
