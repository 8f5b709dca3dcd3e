// The runc command line: the same program called as `minictr-runc` (or
// `minictr runc ...`), with runc's global flags, verbs and exit codes, for
// the callers that drive runc: containerd's shim, conmon (podman, CRI-O).
#pragma once

namespace mctr::cli {

// argv as runc gets it (argv[0] the program, then global flags and a verb).
// Returns the exit code.
int runc_main(int argc, char** argv);

}  // namespace mctr::cli
