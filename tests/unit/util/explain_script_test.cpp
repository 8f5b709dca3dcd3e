// --explain-script: the records explain::step writes, read back, and the
// bash script made from them (where each kind of step lands). That the
// script really makes a container is tests/vm/explain_replay.sh.
#include "util/explain_script.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <sstream>
#include <string>

#include "util/explain.h"
#include "util/subprocess.h"

namespace ex = mctr::explain;

namespace {

// Steps as one run makes them, through the real records fd (a pipe) and the trace fd.
struct Recorded {
  std::string records, trace;
};

Recorded record(void (*steps)()) {
  int rec[2], tr[2];
  EXPECT_EQ(::pipe(rec), 0);
  EXPECT_EQ(::pipe(tr), 0);
  ex::enable_records(rec[1]);
  ex::enable(tr[1]);
  steps();
  ex::enable_records(-1);
  ex::enable(-1);
  ex::set_place(ex::Place::kHost);
  ex::set_netns_pid(0);
  ::close(rec[1]);
  ::close(tr[1]);
  auto drain = [](int fd) {
    std::string s;
    char buf[4096];
    for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;) s.append(buf, static_cast<size_t>(n));
    ::close(fd);
    return s;
  };
  return {drain(rec[0]), drain(tr[0])};
}

void a_bridge_run() {
  ex::step(ex::Kind::kNamespaces, "clone(2)",
           "unshare --fork --pid --mount --uts --ipc --net   # new namespaces");
  ex::step("mkdir(2)", "mkdir /sys/fs/cgroup/memory/minictr/abc");
  ex::step("nft", "nft -f - <<'EOF'\ntable ip minictr {\n\tchain hostports {\n\t}\n}\nEOF");
  ex::set_netns_pid(4242);
  ex::step("netlink", std::string("ip link add v type veth peer name eth0 netns ") + ex::kNetns);
  ex::step("setns+netlink", std::string("nsenter --net=") + ex::kNetnsPath + " sh -c 'ip link set eth0 up'");
  ex::step(ex::Kind::kNote, "send(2)", "# tell the child \"go\"");
  ex::set_place(ex::Place::kContainer);
  ex::step("mount(2)", "mount --make-rprivate /");
  ex::step(ex::Kind::kJoinCgroup, "write(2)", "echo 0 > /sys/fs/cgroup/memory/minictr/abc/tasks");
  ex::step(ex::Kind::kUnshareCgroup, "unshare(2)", "unshare --cgroup   # our cgroup root");
  ex::step(ex::Kind::kPivot, "pivot_root(2)", "cd /r && pivot_root . .");
  ex::step(ex::Kind::kPivot, "umount2(2)", "umount -l .   # detach the old root");
  ex::step("sethostname(2)", "hostname abc");
  ex::step(ex::Kind::kCredentials, "setuid", "setpriv --reuid=0 --regid=0 --clear-groups");
  ex::step(ex::Kind::kCredentials, "capset", "setpriv --bounding-set=-all,+chown --inh-caps=-all   # why");
  ex::step(ex::Kind::kNotReplayable, "seccomp(2)", "# load the BPF filter");
  ex::step(ex::Kind::kExec, "execve(2)", "cd / && exec env -i PATH=/bin hostname   # as PID 1");
  ex::set_place(ex::Place::kHost);
  ex::step(ex::Kind::kNote, "waitpid(2)", "wait 4242");
  ex::step("rmdir(2)", "rmdir /sys/fs/cgroup/memory/minictr/abc");
}

size_t at(const std::string& s, const std::string& what) {
  const size_t p = s.find(what);
  EXPECT_NE(p, std::string::npos) << "missing: " << what << "\n" << s;
  return p;
}

TEST(ExplainScript, RecordsRoundTripWithNewlinesAndTabs) {
  const auto r = record(a_bridge_run);
  const auto records = ex::parse_records(r.records);
  ASSERT_EQ(records.size(), 18u);
  EXPECT_EQ(records[2].replay, "nft -f - <<'EOF'\ntable ip minictr {\n\tchain hostports {\n\t}\n}\nEOF");
  EXPECT_EQ(records[0].kind, ex::Kind::kNamespaces);
  EXPECT_EQ(records[7].place, ex::Place::kContainer);
  EXPECT_EQ(records[17].place, ex::Place::kHost);
  // A truncated last record is dropped, not half-read.
  EXPECT_EQ(ex::parse_records(r.records.substr(0, r.records.size() - 3)).size(), 17u);
}

TEST(ExplainScript, TraceShowsThePidWhereTheScriptNamesTheNamespace) {
  const auto r = record(a_bridge_run);
  EXPECT_NE(r.trace.find("peer name eth0 netns 4242"), std::string::npos) << r.trace;
  EXPECT_NE(r.trace.find("nsenter --net=/proc/4242/ns/net"), std::string::npos);
  const std::string script =
      ex::render_script(ex::parse_records(r.records), {"abcdef0123456789", "minictr run x"});
  // Only a comment (the trace's "wait 4242") may name it; no command does.
  std::istringstream lines(script);
  for (std::string line; std::getline(lines, line);) {
    const size_t first = line.find_first_not_of(' ');
    if (first == std::string::npos || line[first] == '#') continue;
    EXPECT_EQ(line.find("4242"), std::string::npos) << "a PID of the traced run in: " << line;
  }
  EXPECT_NE(script.find("export MCTR_NETNS=mctr-abcdef012345"), std::string::npos);
  EXPECT_NE(script.find("peer name eth0 netns \"$MCTR_NETNS\""), std::string::npos);
  EXPECT_NE(script.find("nsenter --net=/run/netns/\"$MCTR_NETNS\" sh -c"), std::string::npos);
}

TEST(ExplainScript, EachKindOfStepLandsWhereAShellCanMakeIt) {
  const auto r = record(a_bridge_run);
  const std::string s =
      ex::render_script(ex::parse_records(r.records), {"abcdef0123456789", "minictr run x"});
  // 1. host, in trace order, with the named namespace before its first use
  const size_t netns = at(s, "ip netns add \"$MCTR_NETNS\"");
  EXPECT_LT(at(s, "mkdir /sys/fs/cgroup/memory/minictr/abc"), at(s, "nft -f -"));
  EXPECT_LT(netns, at(s, "peer name eth0"));
  // 2. the cgroup joined before the namespaces (with --cgroup: unshared after the join)
  const size_t join = at(s, "  echo 0 > /sys/fs/cgroup/memory/minictr/abc/tasks\n");
  const size_t unshare =
      at(s,
         "exec nsenter --net=/run/netns/\"$MCTR_NETNS\" unshare --fork --pid --mount --uts --ipc --cgroup "
         "/bin/busybox sh");
  EXPECT_LT(join, unshare);
  EXPECT_LT(at(s, "peer name eth0"), join);
  // the init's steps: before pivot by PID 1, the pivot and after it by the second process
  EXPECT_LT(unshare, at(s, "mount --make-rprivate /"));
  const size_t wait_for_pid1 = at(s, "read _ <&4");
  EXPECT_LT(at(s, "mount --make-rprivate /"), wait_for_pid1);
  EXPECT_LT(wait_for_pid1, at(s, "cd /r && pivot_root . ."));
  EXPECT_LT(at(s, "umount -l ."), at(s, "hostname abc"));
  // credentials as one setpriv, the exec in PID 1's shell
  const size_t setpriv =
      at(s,
         "exec \"$SETPRIV\" --reuid=0 --regid=0 --clear-groups --bounding-set=-all,+chown --inh-caps=-all -- "
         "/bin/busybox sh -c ");
  EXPECT_LT(at(s, "hostname abc"), setpriv);
  EXPECT_LT(setpriv, at(s, "exec env -i PATH=/bin hostname"));
  // 3. teardown after the container; comments for what cannot be replayed
  const size_t status = at(s, "status=$?");
  EXPECT_LT(status, at(s, "rmdir /sys/fs/cgroup/memory/minictr/abc"));
  EXPECT_LT(at(s, "rmdir /sys/fs/cgroup/memory/minictr/abc"), at(s, "ip netns del \"$MCTR_NETNS\""));
  EXPECT_NE(s.find("# Not replayed (no Debian tool makes them from a shell): seccomp(2)."),
            std::string::npos);
  EXPECT_NE(s.find("# waitpid(2): wait"), std::string::npos);
}

TEST(ExplainScript, IsValidBash) {
  const auto r = record(a_bridge_run);
  // A command line over several lines, with a backtick: still only a comment.
  const std::string s = ex::render_script(ex::parse_records(r.records),
                                          {"abcdef0123456789", "minictr run x sh -c 'echo `a`\nexit 3'"});
  char path[] = "/tmp/mctr-explain-script-XXXXXX";
  const int fd = ::mkstemp(path);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::write(fd, s.data(), s.size()), static_cast<ssize_t>(s.size()));
  ::close(fd);
  const auto result = mctr::run_process({"bash", "-n", path});
  ::unlink(path);
  EXPECT_EQ(result.status, 0) << result.err << "\n" << s;
}

}  // namespace
