// The Dockerfile parser: text -> stages of instructions, nothing executed.
//
// What it knows of the syntax (Docker's frontend "dockerfile.v0"):
//   - parser directives on the first lines: `# escape=\` or `` ` ``, `# syntax=` (ignored);
//   - comments (`#` first on a line), empty lines, line continuations (the
//     escape character last on a line; comment lines inside are skipped);
//   - `FROM image [AS name]`, the other instructions, `--flag=value` options;
//   - exec form (a JSON array) or shell form for RUN, CMD, ENTRYPOINT, SHELL,
//     COPY, ADD, VOLUME.
// Variables are expanded at build time (expand_word / expand_words), when the
// ARG and ENV values are known. Errors name the file, line and instruction:
//   "Dockerfile:7: COPY: --from needs a value".
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mctr::build {

struct Instruction {
  std::string keyword;                       // upper case: "RUN"
  std::string text;                          // the arguments as written, continuations joined
  std::string args;                          // text without the leading --flags
  std::map<std::string, std::string> flags;  // "--from=b" -> {"from","b"}
  std::vector<std::string> json;             // the exec-form array, when json_form
  bool json_form = false;
  int line = 0;  // first line of the instruction
  // "RUN echo hi" as shown in the build output and the history.
  std::string display() const;
};

struct Stage {
  std::string base;  // FROM's image, unexpanded ("scratch", "busybox", "${BASE}")
  std::string name;  // AS name, lower case ("" if none)
  int index = 0;
  int line = 0;
  std::map<std::string, std::string> from_flags;  // --platform
  std::vector<Instruction> instructions;          // after FROM
};

struct Dockerfile {
  std::string filename;  // for messages
  char escape = '\\';
  std::vector<Instruction> global_args;  // ARGs before the first FROM
  std::vector<Stage> stages;
  // The stage called `name` (or with that index), nullptr if none.
  const Stage* find_stage(const std::string& name) const;
};

// Throws mctr::Error "FILE:LINE: message" on a syntax error.
Dockerfile parse_dockerfile(std::string_view text, const std::string& filename);

// Variables for expansion: nullopt when unset.
using Lookup = std::function<std::optional<std::string>(const std::string&)>;

// Shell-like word processing as Docker does it for ENV, COPY, WORKDIR...:
// quotes removed ('...' literal, "..." with escapes and $ expansion), the
// escape character escapes the next one, $VAR, ${VAR}, ${VAR:-default},
// ${VAR:+alt}, ${VAR-default}, ${VAR+alt}. expand_words splits on unquoted
// whitespace; expand_word keeps the whole text as one word.
std::vector<std::string> expand_words(const std::string& text, char escape, const Lookup& vars);
std::string expand_word(const std::string& text, char escape, const Lookup& vars);

// KEY=VALUE pairs of ENV, LABEL, ARG (values expanded); the legacy form
// "ENV KEY VALUE" (one pair, the rest of the line its value) too.
std::vector<std::pair<std::string, std::string>> parse_pairs(const Instruction& in, char escape,
                                                             const Lookup& vars);

// A syntax error at an instruction: "Dockerfile:LINE: KEYWORD: message".
[[noreturn]] void fail_at(const std::string& filename, const Instruction& in, const std::string& message);

}  // namespace mctr::build
