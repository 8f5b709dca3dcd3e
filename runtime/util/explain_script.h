// --explain-script FILE: the steps of a run (explain.h records), turned into
// one bash script that makes the same container again on this host and
// removes it afterwards. The trace is one line per syscall in the order
// three processes made them; the script puts each step where a shell can
// make it:
//
//   1. the host side before the start: cgroups, directories, /etc files,
//      the bridge and its rules, a *named* network namespace (`ip netns
//      add`) standing in for the clone's, the veth pair;
//   2. the container: a subshell joins the cgroup, then `unshare` makes the
//      namespaces and runs the init's steps in the host's static busybox
//      (/bin/busybox from busybox-static: after pivot_root the host's
//      tools are out of reach, a loaded static busybox keeps working).
//      The credentials come from the host's setpriv, which must be run
//      before the root changes: so PID 1 drops them first and waits, and a
//      second process pivots, mounts the rest and tells it to go on;
//   3. after the exit: the supervisor's teardown, and the named namespace.
//
// Steps no Debian tool can make (a seccomp filter, a BPF device program)
// stay comments, listed in the script's header.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "util/explain.h"

namespace mctr::explain {

struct Record {
  Place place = Place::kHost;
  Kind kind = Kind::kCommand;
  std::string syscall;
  std::string replay;
};

// The records as explain::step wrote them, one per line; lines that are not
// records (a truncated last one) are skipped.
std::vector<Record> parse_records(std::string_view text);

struct ScriptInfo {
  std::string container_id;  // names the network namespace: mctr-<first 12>
  std::string command_line;  // the minictr command that was traced, for the header
};

std::string render_script(const std::vector<Record>& records, const ScriptInfo& info);

}  // namespace mctr::explain
