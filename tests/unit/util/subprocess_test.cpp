// run_process: stdin fed, stdout/stderr captured, exit status and signals,
// a missing program, and input larger than a pipe holds (no deadlock).
#include "util/subprocess.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <string>

#include "util/error.h"

namespace mctr {
namespace {

TEST(RunProcess, FeedsStdinAndCapturesBothStreams) {
  ProcessResult r = run_process({"sh", "-c", "cat; echo oops >&2; exit 3"}, "hello\n");
  EXPECT_EQ(r.status, 3);
  EXPECT_EQ(r.out, "hello\n");
  EXPECT_EQ(r.err, "oops\n");
}

TEST(RunProcess, NoInputMeansEmptyStdin) {
  ProcessResult r = run_process({"sh", "-c", "wc -c"});
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.out.substr(r.out.find_first_not_of(' ')), "0\n");
}

TEST(RunProcess, KilledBySignalIs128PlusSignal) {
  ProcessResult r = run_process({"sh", "-c", "kill -9 $$"});
  EXPECT_EQ(r.status, 137);
}

TEST(RunProcess, LargeInputAndOutputDoNotDeadlock) {
  // 1 MiB each way: far more than a pipe buffers (64 KiB), so writing all of
  // stdin before reading stdout would hang.
  std::string big(1 << 20, 'x');
  ProcessResult r = run_process({"cat"}, big);
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.out.size(), big.size());
}

TEST(RunProcess, ChildThatStopsReadingDoesNotKillUs) {
  // `true` exits without reading: our write gets EPIPE, not SIGPIPE.
  ProcessResult r = run_process({"true"}, std::string(1 << 20, 'x'));
  EXPECT_EQ(r.status, 0);
}

TEST(RunProcess, MissingProgramThrowsEnoent) {
  try {
    run_process({"minictr-no-such-program"});
    FAIL() << "no exception";
  } catch (const SysError& e) {
    EXPECT_EQ(e.err(), ENOENT);
  }
}

}  // namespace
}  // namespace mctr
