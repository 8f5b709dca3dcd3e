// --explain: print every kernel operation as a line a student can replay by
// hand, next to the syscall that does it:
//
//   [explain] mount(2)         mount -t proc proc /var/lib/minictr/rootfs/proc
//
// The lines go to one file descriptor (the CLI's stderr) that forked and
// cloned children inherit, so the supervisor and the container's init add
// their steps in the order they happen.
#pragma once

#include <string>

namespace mctr::explain {

void enable(int fd);  // start printing to fd (-1 turns it off)
bool on();
int fd();
// One step: the syscall(s) minictr makes and the shell command that does the same.
void step(const std::string& syscall, const std::string& replay);
// Quote a word for a shell command line when needed.
std::string sh_quote(const std::string& s);

}  // namespace mctr::explain
