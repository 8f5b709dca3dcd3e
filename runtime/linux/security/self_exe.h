// CVE-2019-5736, the runc overwrite: a process in the container waits for
// the runtime to enter it (exec, or the init before its execve) and opens
// /proc/PID/exe, which names the runtime's binary on the host. Or it makes
// its own /bin/sh start with "#!/proc/self/exe", so the runtime's exec of it
// runs the runtime again, now inside the container. Either way it holds a
// handle on the host's binary and, once the runtime has exited (ETXTBSY
// until then), reopens it for writing: the next `minictr` run by root on the
// host is the container's code.
//
// The answer (as runc's): whatever minictr starts in a container runs from
// a copy of the binary that cannot be written. Here: a private, read-only
// bind mount of the executable, detached from every mount tree, which the
// process re-executes itself from (open_tree + mount_setattr + execveat).
// /proc/self/exe then names a file on a read-only mount; opening it for
// writing fails with EROFS, whoever asks.
#pragma once

#include "util/fd.h"

namespace mctr::security {

// True when our executable sits on a read-only mount (statvfs of
// /proc/self/exe): nothing a container reaches through /proc can write it.
bool self_exe_is_read_only();

// Unless self_exe_is_read_only(), execute ourselves again, same argv and
// environment, from a read-only detached bind mount of the binary (or, on a
// kernel without open_tree/mount_setattr, from a sealed memfd copy).
// Returns only when already read-only; throws Error when it cannot.
void reexec_from_read_only_self(char** argv);

// The same exec, always, with any argv. Throws Error when it cannot.
[[noreturn]] void exec_read_only_self(char** argv);

// The read-only copy itself (close-on-exec), for a program started from it
// some other way: the container's supervisor (container/supervisor.h).
UniqueFd open_read_only_self();

}  // namespace mctr::security
