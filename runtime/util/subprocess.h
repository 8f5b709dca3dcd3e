// Run a program to completion: its stdin fed from a string, its stdout and
// stderr captured. For the host tools minictr drives by their command line,
// as Docker drives iptables (here: nft).
#pragma once

#include <string>
#include <vector>

namespace mctr {

struct ProcessResult {
  int status = 0;  // the exit status, or 128 + signal when it was killed
  std::string out, err;
};

// argv[0] is looked up in $PATH, then in /usr/sbin and /sbin (root's tools
// are there, and a PATH without them is common under sudo or cron).
// Throws SysError when the program cannot be started (ENOENT: not installed).
ProcessResult run_process(const std::vector<std::string>& argv, const std::string& input = "");

}  // namespace mctr
