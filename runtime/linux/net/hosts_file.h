// /etc/hosts of running containers, kept up to date as containers join and
// leave the bridge (so a container started before another can still resolve
// it by name, as with Docker's default bridge + links, or a user network).
//
// Each container sees a host file of its state dir, bind-mounted over its
// /etc/hosts. Only the lines of *other* containers on the bridge change.
#pragma once

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace mctr::net {

struct HostEntry;  // network.h

// `current` with every line for an address of the bridge (`on_bridge`) that
// is not one of `own_ips` removed, and one "ip\tname" line per peer appended
// (but `self_id`, the file's own container, when it is among them).
// Other lines (localhost, the container's own name, comments) stay as they are.
// Runs for every container's file at every attach and detach on a bridge:
// N files of N lines, so it reads each line once without a stream.
std::string hosts_with_peers(const std::string& current,
                             const std::function<bool(const std::string&)>& on_bridge,
                             const std::vector<std::string>& own_ips, const std::vector<HostEntry>& peers,
                             const std::string& self_id = "");

// Replace the content of `path` in place. Returns false when the file does
// not exist (the container is being removed). See hosts_file.cpp for why this
// is not a rename.
bool rewrite_in_place(const std::filesystem::path& path, const std::string& data);

}  // namespace mctr::net
