// minictr exec [-it] [-d] [-e K=V] [-w DIR] [-u USER] CONTAINER CMD...
#include "container/exec.h"

#include "cli/verbs.h"

namespace mctr::cli {

void add_exec(CLI::App& app, Globals& g) {
  auto* sub = app.add_subcommand("exec", "Run a command in a running container");
  struct F {
    container::ExecOptions o;
    std::string ref;
    std::vector<std::string> rest;
  };
  auto f = std::make_shared<F>();
  sub->add_flag("-i,--interactive", f->o.interactive, "Keep STDIN open");
  sub->add_flag("-t,--tty", f->o.tty, "Allocate a pseudo-TTY");
  sub->add_flag("-d,--detach", f->o.detach, "Run the command in the background");
  sub->add_flag("--privileged", f->o.privileged, "Give extended privileges to the command");
  sub->add_option("-e,--env", f->o.env, "Set environment variables")->allow_extra_args(false);
  sub->add_option("-w,--workdir", f->o.workdir, "Working directory inside the container");
  sub->add_option("-u,--user", f->o.user, "User (name|uid[:group|gid])");
  sub->add_option("container", f->ref, "Container")->required();
  sub->add_option("command", f->o.cmd, "Command and arguments")->required();
  sub->positionals_at_end();
  sub->callback([&g, f] {
    f->o.cmd = command_as_typed(f->o.cmd, g.argv);
    container::Store store(g.root());
    std::string id = store.resolve(f->ref);
    g.exit_code = container::exec_in_container(store, id, f->o);
  });
}

}  // namespace mctr::cli
