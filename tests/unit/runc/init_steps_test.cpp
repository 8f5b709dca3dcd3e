// The init pipeline: minictr-runc create's step list (runc/init.h) in the
// runtime spec's order, and the runner both inits share
// (container::run_init_steps), run in a forked child with a side that only
// records the steps it is asked to run.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <string>
#include <vector>

#include "container/init.h"
#include "runc/init.h"
#include "util/error.h"
#include "util/fd.h"

namespace mctr::runc {

using container::InitStep;

namespace {

size_t position(const std::vector<InitStep>& steps, InitStep s) {
  auto it = std::find(steps.begin(), steps.end(), s);
  EXPECT_NE(it, steps.end()) << "step " << static_cast<int>(s) << " is missing";
  return static_cast<size_t>(it - steps.begin());
}

// Writes each step to `out` (one byte); throws Error(`code`) at `fail_at`.
class RecordingSide : public container::InitSide {
 public:
  RecordingSide(int out, InitStep fail_at, int code) : out_(out), fail_at_(fail_at), code_(code) {}
  void run(InitStep step) override {
    const auto byte = static_cast<char>(step);
    if (::write(out_, &byte, 1) != 1) ::_exit(99);
    if (step == fail_at_) throw Error("step failed", code_);
  }
  int failed(const std::exception& e) noexcept override {
    const std::string msg = std::string("|") + e.what();
    if (::write(out_, msg.data(), msg.size()) < 0) ::_exit(99);
    return code_;
  }

 private:
  int out_;
  InitStep fail_at_;
  int code_;
};

struct Outcome {
  std::string written;
  int exit_code = -1;
};

Outcome run_in_child(const std::vector<InitStep>& steps, InitStep fail_at, int code) {
  int p[2];
  if (::pipe(p) < 0) throw std::runtime_error("pipe");
  UniqueFd in(p[0]), out(p[1]);
  pid_t pid = ::fork();
  if (pid == 0) {
    RecordingSide side(out.get(), fail_at, code);
    container::run_init_steps(steps, side);
  }
  out.reset();
  Outcome o;
  char buf[256];
  ssize_t n;
  while ((n = ::read(in.get(), buf, sizeof buf)) > 0) o.written.append(buf, static_cast<size_t>(n));
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (WIFEXITED(status)) o.exit_code = WEXITSTATUS(status);
  return o;
}

std::string bytes_of(std::initializer_list<InitStep> steps) {
  std::string out;
  for (InitStep s : steps) out += static_cast<char>(s);
  return out;
}

}  // namespace

TEST(CreateSteps, FollowTheRuntimeSpecsOrder) {
  const auto& s = kCreateSteps;
  EXPECT_EQ(s.front(), InitStep::kWaitForGo);  // nothing before `create` put us in our cgroup
  EXPECT_EQ(s.back(), InitStep::kExec);
  // createContainer: after the mounts (and device nodes), before pivot_root.
  EXPECT_LT(position(s, InitStep::kMountBundle), position(s, InitStep::kCreateContainerHooks));
  EXPECT_LT(position(s, InitStep::kMakeDeviceNodes), position(s, InitStep::kCreateContainerHooks));
  EXPECT_LT(position(s, InitStep::kCreateContainerHooks), position(s, InitStep::kPivotRoot));
  // Masked paths are the container's paths: after pivot_root.
  EXPECT_LT(position(s, InitStep::kPivotRoot), position(s, InitStep::kMaskPaths));
  // A missing command fails `create`, not `start`; startContainer runs after `start`.
  EXPECT_LT(position(s, InitStep::kPrepareProcess), position(s, InitStep::kReportReady));
  EXPECT_LT(position(s, InitStep::kReportReady), position(s, InitStep::kWaitForStart));
  EXPECT_LT(position(s, InitStep::kWaitForStart), position(s, InitStep::kStartContainerHooks));
}

TEST(CreateSteps, HaveNoneOfMinictrRunsHandoverSteps) {
  for (InitStep run_only :
       {InitStep::kSendMountNamespace, InitStep::kPrepareHostFiles, InitStep::kMountRootFilesystem,
        InitStep::kReceiveRootFs, InitStep::kReceiveNetworkNamespace, InitStep::kJoinCgroupHandedOver,
        InitStep::kStdio, InitStep::kBindMounts})
    EXPECT_EQ(std::count(kCreateSteps.begin(), kCreateSteps.end(), run_only), 0)
        << "step " << static_cast<int>(run_only);
}

TEST(RunInitSteps, RunsInOrderAndStopsAtTheFailingStep) {
  const std::vector<InitStep> steps = {InitStep::kWaitForGo, InitStep::kMountBundle, InitStep::kPivotRoot,
                                       InitStep::kHostname, InitStep::kExec};
  Outcome o = run_in_child(steps, InitStep::kPivotRoot, 42);
  EXPECT_EQ(o.written,
            bytes_of({InitStep::kWaitForGo, InitStep::kMountBundle, InitStep::kPivotRoot}) + "|step failed");
  EXPECT_EQ(o.exit_code, 42);
}

TEST(RunInitSteps, AListThatDoesNotExecFails) {
  Outcome o = run_in_child({InitStep::kWaitForGo}, InitStep::kExec, 7);
  EXPECT_EQ(o.written, bytes_of({InitStep::kWaitForGo}) + "|init: the step list ended without kExec");
  EXPECT_EQ(o.exit_code, 7);
}

TEST(ContainerSteps, EveryListEndsInExecAfterTheRootSwitch) {
  for (const auto* list :
       {&container::kCloneThenGoSteps, &container::kSharingMemorySteps, &container::kUserNamespaceSteps}) {
    EXPECT_EQ(list->back(), InitStep::kExec);
    EXPECT_LT(position(*list, InitStep::kBindMounts), position(*list, InitStep::kPivotRoot));
    EXPECT_LT(position(*list, InitStep::kPivotRoot), position(*list, InitStep::kMaskPaths));
    EXPECT_LT(position(*list, InitStep::kUnshareCgroupNamespace),
              position(*list, InitStep::kMountOwnCgroups));
    EXPECT_EQ(std::count(list->begin(), list->end(), InitStep::kReportReady), 0);
  }
}

}  // namespace mctr::runc
