// --explain-script FILE: the CLI's side. The records of every process of the
// run (this one, the supervisor, the container's init) go into one pipe that
// they all inherit; once the last of them has closed it (the supervisor, when
// it is done), the CLI reads them and writes the script (util/explain_script.h).
#pragma once

#include "cli/verbs.h"

namespace mctr::cli {

// The pipe: its write end is explain's records fd; returns the read end.
int open_explain_records();

// Read the records until every writer is gone, and write g.explain_script.
void write_explain_script(int records_fd, const Globals& g);

}  // namespace mctr::cli
