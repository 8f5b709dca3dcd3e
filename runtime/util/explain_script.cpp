#include "util/explain_script.h"

#include <set>
#include <sstream>

namespace mctr::explain {

namespace {

std::string unescape(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '\\' || i + 1 == s.size()) {
      out += s[i];
      continue;
    }
    const char c = s[++i];
    out += c == 'n' ? '\n' : c == 't' ? '\t' : c;
  }
  return out;
}

bool is_place(char c) {
  return c == static_cast<char>(Place::kHost) || c == static_cast<char>(Place::kContainer);
}

bool is_kind(char c) {
  for (Kind k : {Kind::kCommand, Kind::kNamespaces, Kind::kJoinCgroup, Kind::kUnshareCgroup, Kind::kPivot,
                 Kind::kCredentials, Kind::kExec, Kind::kNotReplayable, Kind::kNote})
    if (c == static_cast<char>(k)) return true;
  return false;
}

// A step's command without the "   # why" the trace adds for the reader.
std::string without_note(const std::string& replay) {
  const auto at = replay.find("   # ");
  return at == std::string::npos ? replay : replay.substr(0, at);
}

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size()))
    s.replace(at, from.size(), to);
  return s;
}

// The network namespace by the name the script gives it.
std::string named_netns(const std::string& replay) {
  return replace_all(replace_all(replay, kNetnsPath, "/run/netns/\"$MCTR_NETNS\""), kNetns,
                     "\"$MCTR_NETNS\"");
}

std::string as_comment(const Record& r, const std::string& indent) {
  std::string out;
  std::istringstream lines(r.syscall + ": " + r.replay);
  for (std::string line; std::getline(lines, line);) out += indent + "# " + line + "\n";
  return out;
}

// The namespaces the clone (and, on the memory-sharing start, the
// supervisor's second thread) made: unshare(1)'s flags.
std::set<std::string> namespace_flags(const std::vector<Record>& records) {
  std::set<std::string> flags;
  for (const auto& r : records) {
    if (r.kind != Kind::kNamespaces) continue;
    std::istringstream words(without_note(r.replay));
    for (std::string w; words >> w;)
      if (w.rfind("--", 0) == 0 && w != "--fork") flags.insert(w);
  }
  return flags;
}

// The parts of the script, filled in the order of the records.
struct Parts {
  std::string host_before, joins, before_pivot, after_pivot, credentials, exec, host_after;
  std::vector<std::string> not_replayed;
  bool unshare_cgroup = false;
};

void place_host_step(const Record& r, bool started, bool& netns_named, Parts& p) {
  std::string& out = started ? p.host_after : p.host_before;
  switch (r.kind) {
    case Kind::kNamespaces:
      out += as_comment(r, "");
      if (!netns_named && without_note(r.replay).find("--net") != std::string::npos) {
        out += "ip netns add \"$MCTR_NETNS\"   # named, so that the next steps can refer to it\n";
        netns_named = true;
      }
      return;
    case Kind::kJoinCgroup:
      p.joins += "  " + without_note(r.replay) + "\n";
      return;
    case Kind::kNotReplayable:
      p.not_replayed.push_back(r.syscall);
      out += as_comment(r, "");
      return;
    case Kind::kNote:
      out += as_comment(r, "");
      return;
    default:
      out += named_netns(r.replay) + "\n";
  }
}

void place_container_step(const Record& r, bool& pivoted, Parts& p) {
  switch (r.kind) {
    case Kind::kJoinCgroup:
      p.joins += "  " + without_note(r.replay) + "\n";
      return;
    case Kind::kUnshareCgroup:
      p.unshare_cgroup = true;
      return;
    case Kind::kPivot:
      pivoted = true;
      p.after_pivot += "    " + r.replay + "\n";
      return;
    case Kind::kCredentials: {
      std::string options = without_note(r.replay);
      if (options.rfind("setpriv ", 0) == 0) options = options.substr(8);
      p.credentials += " " + options;
      return;
    }
    case Kind::kExec:
      p.exec = without_note(r.replay);
      return;
    case Kind::kNotReplayable:
      p.not_replayed.push_back(r.syscall);
      (pivoted ? p.after_pivot : p.before_pivot) += as_comment(r, pivoted ? "    " : "");
      return;
    case Kind::kNote:
    case Kind::kNamespaces:
      (pivoted ? p.after_pivot : p.before_pivot) += as_comment(r, pivoted ? "    " : "");
      return;
    case Kind::kCommand:
      if (pivoted)
        p.after_pivot += "    " + named_netns(r.replay) + "\n";
      else
        p.before_pivot += named_netns(r.replay) + "\n";
      return;
  }
}

Parts sort_records(const std::vector<Record>& records) {
  Parts p;
  bool started = false, pivoted = false, netns_named = false;
  for (const auto& r : records) {
    if (r.place == Place::kHost)
      place_host_step(r, started, netns_named, p);
    else
      place_container_step(r, pivoted, p);
    if (r.kind == Kind::kExec) started = true;
  }
  return p;
}

std::string header(const ScriptInfo& info, const Parts& p) {
  std::string out =
      "#!/bin/bash\n"
      "# The container of\n" +
      replace_all("#   " + info.command_line, "\n", "\n#   ") +
      "\n# made again step by step\n"
      "# (minictr --explain-script). Run it as root with bash on the host it was traced on:\n"
      "# it uses the image's unpacked layers in minictr's state root, the host's\n"
      "# static busybox (busybox-static), setpriv, unshare, nsenter and ip.\n"
      "# It makes the same container once more, runs its command and removes what it made.\n";
  if (!p.not_replayed.empty()) {
    out += "# Not replayed (no Debian tool makes them from a shell):";
    for (const auto& s : p.not_replayed) out += " " + s;
    out += ".\n";
  }
  return out +
         "set -eu\n"
         "[ -x /bin/busybox ] || { echo 'needs the static /bin/busybox (busybox-static)' >&2; exit 127; }\n"
         "# By its path: in busybox's sh a plain `setpriv` is busybox's own, without --bounding-set.\n"
         "export SETPRIV=\"$(command -v setpriv)\"\n";
}

std::string container_part(const std::set<std::string>& flags, const Parts& p) {
  std::string unshare = "unshare --fork";
  for (const char* f : {"--pid", "--mount", "--uts", "--ipc"})
    if (flags.count(f)) unshare += std::string(" ") + f;
  if (p.unshare_cgroup) unshare += " --cgroup";
  const bool own_netns = flags.count("--net") > 0;
  const std::string enter = own_netns ? "nsenter --net=/run/netns/\"$MCTR_NETNS\" " : "";
  // PID 1 tells the second process it holds its credentials, waits for the
  // root to be ready, then becomes the command.
  const std::string pid1 = "echo ready >&4; read r <&3; exec 3<&- 4<&-; [ \"$r\" = 0 ] || exit 125; " +
                           (p.exec.empty() ? std::string("exit 0") : p.exec);
  std::string out =
      "\n# 2. The container: into its cgroup, then its namespaces; its init's steps run in\n"
      "#    busybox's sh, which keeps working after pivot_root (it is static and loaded).\n"
      "mkfifo \"$REPLAY/ready\" \"$REPLAY/go\"\n"
      "set +e\n"
      "(\n" +
      p.joins + "  exec " + enter + unshare + " /bin/busybox sh -eu -s <<'CONTAINER'\n" + p.before_pivot +
      "exec 3<>\"$REPLAY/go\" 4<>\"$REPLAY/ready\"\n"
      "# setpriv comes from the host: PID 1 takes its credentials now, before pivot_root,\n"
      "# and waits; a second process finishes the root and tells it the outcome.\n"
      "(\n"
      "  set +e\n"
      "  read _ <&4\n"
      "  (\n"
      "    set -e\n" +
      p.after_pivot +
      "  )\n"
      "  echo $? >&3\n"
      ") &\n"
      "exec \"$SETPRIV\"" +
      p.credentials + " -- /bin/busybox sh -c " + sh_quote(pid1) +
      "\n"
      "CONTAINER\n"
      ")\n"
      "status=$?\n"
      "set -e\n";
  return out;
}

}  // namespace

std::vector<Record> parse_records(std::string_view text) {
  std::vector<Record> records;
  while (!text.empty()) {
    const auto end = text.find('\n');
    if (end == std::string_view::npos) break;  // a truncated last record
    const std::string_view line = text.substr(0, end);
    text.remove_prefix(end + 1);
    if (line.size() < 5 || !is_place(line[0]) || line[1] != '\t' || !is_kind(line[2]) || line[3] != '\t')
      continue;
    const auto tab = line.find('\t', 4);
    if (tab == std::string_view::npos) continue;
    records.push_back({static_cast<Place>(line[0]), static_cast<Kind>(line[2]),
                       std::string(line.substr(4, tab - 4)), unescape(line.substr(tab + 1))});
  }
  return records;
}

// Traced on an initramfs root, the init moved its root over "/" and chrooted
// (rootfs.cpp: pivot_into): a chroot moves only the process that makes it,
// so the script's waiting PID 1 would stay in the host's root.
static bool chrooted(const std::vector<Record>& records) {
  for (const auto& r : records)
    if (r.kind == Kind::kPivot && without_note(r.replay).find("chroot .") != std::string::npos) return true;
  return false;
}

std::string render_script(const std::vector<Record>& records, const ScriptInfo& info) {
  const Parts p = sort_records(records);
  std::string out = header(info, p);
  if (chrooted(records))
    out +=
        "echo 'not replayable: traced on an initramfs root, where the container got mount --move + chroot "
        "instead of pivot_root' >&2\nexit 125\n";
  out += "export MCTR_NETNS=mctr-" + info.container_id.substr(0, 12) + "\n";
  out += "export REPLAY=\"$(mktemp -d)\"\n";
  out += "\n# 1. On the host, before the container starts (the supervisor's steps)\n" + p.host_before;
  const auto flags = namespace_flags(records);
  out += container_part(flags, p);
  out += "\n# 3. After the exit: the supervisor's teardown\n" + p.host_after;
  if (flags.count("--net")) out += "ip netns del \"$MCTR_NETNS\"\n";
  out += "rm -rf \"$REPLAY\"\n";
  out += "exit $status\n";
  return out;
}

}  // namespace mctr::explain
