#include "linux/setns.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/stat.h>

#include <string>

#include "util/error.h"
#include "util/explain.h"

namespace mctr::linux_ns {

NamespaceFds open_namespaces(pid_t pid) {
  // The user namespace first (run --userns): the others belong to it, and
  // once in it we hold capabilities over them and over nothing of the host.
  static const std::pair<const char*, int> kinds[] = {
      {"user", CLONE_NEWUSER}, {"ipc", CLONE_NEWIPC},       {"uts", CLONE_NEWUTS}, {"net", CLONE_NEWNET},
      {"pid", CLONE_NEWPID},   {"cgroup", CLONE_NEWCGROUP}, {"mnt", CLONE_NEWNS}};
  NamespaceFds out;
  out.pid = pid;
  for (auto [name, type] : kinds) {
    std::string theirs = "/proc/" + std::to_string(pid) + "/ns/" + name;
    std::string ours = std::string("/proc/self/ns/") + name;
    struct stat a, b;
    check_sys(::stat(theirs.c_str(), &a), "stat", theirs);
    // Same inode: the container shares this namespace with us (--network host).
    if (::stat(ours.c_str(), &b) == 0 && a.st_ino == b.st_ino && a.st_dev == b.st_dev) continue;
    out.fds.emplace_back(type,
                         UniqueFd(check_sys(::open(theirs.c_str(), O_RDONLY | O_CLOEXEC), "open", theirs)));
  }
  return out;
}

void enter_namespaces(const NamespaceFds& ns) {
  if (explain::on()) {
    std::string flags;
    for (const auto& [type, fd] : ns.fds) {
      (void)fd;
      flags += type == CLONE_NEWUSER     ? " --user"
               : type == CLONE_NEWIPC    ? " --ipc"
               : type == CLONE_NEWUTS    ? " --uts"
               : type == CLONE_NEWNET    ? " --net"
               : type == CLONE_NEWPID    ? " --pid"
               : type == CLONE_NEWCGROUP ? " --cgroup"
                                         : " --mount";
    }
    explain::step("setns(2)", "nsenter --target " + std::to_string(ns.pid) + flags +
                                  "   # /proc/PID/ns/* of the container's init");
  }
  bool joined_user = false;
  for (const auto& [type, fd] : ns.fds) {
    if (::setns(fd.get(), type) < 0) throw_sys("setns", "ns type " + std::to_string(type));
    joined_user |= type == CLONE_NEWUSER;
  }
  // Our host ids are unmapped in there: become its root (the host's mapped
  // uid), as the container's init is, before anything makes files.
  if (joined_user) {
    check_sys(::setresgid(0, 0, 0), "setresgid", "the user namespace's root");
    check_sys(::setresuid(0, 0, 0), "setresuid", "the user namespace's root");
  }
}

}  // namespace mctr::linux_ns
