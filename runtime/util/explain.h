// --explain: print every kernel operation as a line a student can replay by
// hand, next to the syscall that does it:
//
//   [explain] mount(2)         mount -t proc proc /var/lib/minictr/rootfs/proc
//
// The lines go to one file descriptor (the CLI's stderr) that forked and
// cloned children inherit, so the supervisor and the container's init add
// their steps in the order they happen.
//
// --explain-script FILE records the same steps, each with who made it (the
// host side or the container's init) and what kind of step it is, on a
// second inherited descriptor; the CLI turns them into one bash script that
// makes the same container again (util/explain_script.h).
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string>

namespace mctr::explain {

void enable(int fd);  // start printing to fd (-1 turns it off)
bool on();
int fd();

// The descriptor the records for --explain-script go to (-1: none).
void enable_records(int fd);
int records_fd();

// Who makes the steps of this process: the CLI and the supervisor work on the
// host; the container's init marks itself as it starts.
enum class Place : char { kHost = 'h', kContainer = 'c' };
void set_place(Place p);

// What a step is to the replay script. Most are commands that do the same
// as the syscall; the others have a place of their own in the script.
enum class Kind : char {
  kCommand = 'c',        // a shell command, run where it was made
  kNamespaces = 'n',     // the clone: `unshare --fork --pid ...` (its flags)
  kJoinCgroup = 'j',     // joining the container's cgroup: `echo 0 > .../tasks`
  kUnshareCgroup = 'u',  // unshare(CLONE_NEWCGROUP) after the join
  kPivot = 'p',          // pivot_root and the unmount of the old root
  kCredentials = 'r',    // setpriv options: user, groups, capabilities, no_new_privs
  kExec = 'x',           // `cd DIR && exec env -i ... COMMAND`
  kNotReplayable = 'z',  // no Debian tool does it (a seccomp filter): a comment
  kNote = '#',           // a comment only (the "go" message, the wait)
};

// One step: the syscall(s) minictr makes and the shell command that does the same.
void step(const std::string& syscall, const std::string& replay);
void step(Kind kind, const std::string& syscall, const std::string& replay);

// The container's network namespace has no name of its own: a step that
// refers to it writes kNetns (`ip link ... netns @NETNS@`) or kNetnsPath
// (`nsenter --net=@NETNS_PATH@`). The trace shows the init's PID there
// (set_netns_pid), the replay script a named namespace (`ip netns add`).
inline constexpr const char* kNetns = "@NETNS@";
inline constexpr const char* kNetnsPath = "@NETNS_PATH@";
void set_netns_pid(pid_t pid);

// A file minictr has just written (/etc/hosts and friends of a container):
// the step is a printf of its content.
void file_written(const std::filesystem::path& p);

// Quote a word for a shell command line when needed.
std::string sh_quote(const std::string& s);

}  // namespace mctr::explain
