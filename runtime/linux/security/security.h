// Security settings applied in the container's init just before execve:
// capabilities (Docker's default 14), no_new_privs, seccomp; masked and
// read-only paths after pivot_root; the device allow-list on the cgroup.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace mctr::security {

struct Options {
  std::vector<std::string> cap_add;   // "NET_ADMIN" or "CAP_NET_ADMIN", "ALL"
  std::vector<std::string> cap_drop;
  bool privileged = false;
  std::string seccomp;                // "" = Docker's default, "unconfined", or a JSON profile path
  bool no_new_privs = true;
};

// Docker's default capability names (without CAP_), in a stable order.
const std::vector<std::string>& default_capabilities();
// The capabilities the container keeps, after --cap-add/--cap-drop/--privileged.
// Throws mctr::Error on an unknown capability name.
std::vector<std::string> resolve_capabilities(const Options& o);

// Child side, in this order, after pivot_root and before execve:
void mask_paths(bool privileged);             // Docker's masked + read-only /proc, /sys paths
void drop_capabilities(const std::vector<std::string>& keep);  // bounding, inheritable, permitted, effective; ambient cleared
void set_no_new_privs();
void apply_seccomp(const Options& o);         // loads the filter (no-op when unconfined or privileged)

}  // namespace mctr::security
