// The build context: the directory whose files COPY and ADD read, minus what
// .dockerignore excludes. Sources are named relative to it, with wildcards
// (* ? [..] within one path component, ** for any number of them).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace mctr::build {

// One .dockerignore line, cleaned: "!" exceptions, leading "/" and "./" dropped.
struct IgnorePattern {
  std::string pattern;
  bool exception = false;
};
std::vector<IgnorePattern> parse_dockerignore(const std::string& text);

// Does `pattern` match the whole of `path` ("a/b/c")? Per component like
// Go's filepath.Match, "**" matches any number of components.
bool path_match(const std::string& pattern, const std::string& path);

// Is `rel` (or a directory above it) excluded? The last matching pattern
// decides, as in Docker.
bool ignored(const std::vector<IgnorePattern>& patterns, const std::string& rel);

class Context {
 public:
  explicit Context(std::filesystem::path dir);  // reads dir/.dockerignore
  const std::filesystem::path& dir() const { return dir_; }
  bool ignored(const std::string& rel) const { return build::ignored(patterns_, rel); }
  // The sources a COPY/ADD argument names ("src/*.c", ".", "a/b"), sorted;
  // throws when nothing (not ignored) matches or the path leaves the context.
  std::vector<std::string> match(const std::string& source) const;
  // sha256 over the names, types, modes, sizes, link targets and content of
  // everything those sources copy (directories walked, ignored files skipped).
  std::string digest(const std::vector<std::string>& sources) const;

 private:
  std::filesystem::path dir_;
  std::vector<IgnorePattern> patterns_;
};

}  // namespace mctr::build
