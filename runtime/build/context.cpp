#include "build/context.h"

#include <fcntl.h>
#include <fnmatch.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include "build/layer_tar.h"
#include "image/digest.h"
#include "util/error.h"
#include "util/fd.h"
#include "util/fs.h"

namespace mctr::build {

namespace sfs = std::filesystem;

namespace {

std::vector<std::string> components(const std::string& p) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i <= p.size()) {
    size_t j = p.find('/', i);
    if (j == std::string::npos) j = p.size();
    if (j > i) out.push_back(p.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

bool match_from(const std::vector<std::string>& pat, size_t pi, const std::vector<std::string>& path,
                size_t qi) {
  if (pi == pat.size()) return qi == path.size();
  if (pat[pi] == "**") {
    for (size_t k = qi; k <= path.size(); ++k)
      if (match_from(pat, pi + 1, path, k)) return true;
    return false;
  }
  if (qi == path.size()) return false;
  if (::fnmatch(pat[pi].c_str(), path[qi].c_str(), FNM_PATHNAME) != 0) return false;
  return match_from(pat, pi + 1, path, qi + 1);
}

bool has_wildcard(const std::string& s) { return s.find_first_of("*?[") != std::string::npos; }

void hash_field(image::Sha256& h, const std::string& s) {
  h.update(s.data(), s.size());
  h.update("\0", 1);
}

}  // namespace

std::vector<IgnorePattern> parse_dockerignore(const std::string& text) {
  std::vector<IgnorePattern> out;
  size_t i = 0;
  while (i <= text.size()) {
    size_t j = text.find('\n', i);
    if (j == std::string::npos) j = text.size();
    std::string line = fs::trim(text.substr(i, j - i));
    i = j + 1;
    while (!line.empty() && (line[0] == ' ' || line[0] == '\t')) line.erase(0, 1);
    if (line.empty() || line[0] == '#') continue;
    IgnorePattern p;
    if (line[0] == '!') {
      p.exception = true;
      line = fs::trim(line.substr(1));
    }
    p.pattern = layer_path(line);
    if (p.pattern.empty()) continue;
    out.push_back(p);
  }
  return out;
}

bool path_match(const std::string& pattern, const std::string& path) {
  return match_from(components(pattern), 0, components(path), 0);
}

bool ignored(const std::vector<IgnorePattern>& patterns, const std::string& rel) {
  bool out = false;
  std::vector<std::string> parts = components(rel);
  for (const auto& p : patterns) {
    // The pattern matches the path or one of the directories above it.
    std::string prefix;
    bool hit = false;
    for (const auto& c : parts) {
      prefix = prefix.empty() ? c : prefix + "/" + c;
      if (path_match(p.pattern, prefix)) {
        hit = true;
        break;
      }
    }
    if (hit) out = !p.exception;
  }
  return out;
}

Context::Context(sfs::path dir) : dir_(std::move(dir)) {
  struct stat st;
  if (::stat(dir_.c_str(), &st) < 0 || !S_ISDIR(st.st_mode))
    throw Error("unable to prepare context: path \"" + dir_.string() + "\" not found or not a directory");
  if (auto text = fs::read_file_if_exists(dir_ / ".dockerignore")) patterns_ = parse_dockerignore(*text);
}

std::vector<std::string> Context::match(const std::string& source) const {
  std::string rel = layer_path(source);
  if (sfs::path(source).lexically_normal().string().starts_with("..") || rel.starts_with(".."))
    throw Error("COPY failed: forbidden path outside the build context: " + source);
  std::vector<std::string> out;
  if (!has_wildcard(rel)) {
    struct stat st;
    if (::lstat((dir_ / rel).c_str(), &st) < 0 || (!rel.empty() && ignored(rel)))
      throw Error("COPY failed: file not found in build context or excluded by .dockerignore: stat " +
                  source + ": file does not exist");
    out.push_back(rel);
    return out;
  }
  // Walk the context, keeping what the pattern matches (not below a match).
  std::vector<std::string> stack = {""};
  while (!stack.empty()) {
    std::string cur = stack.back();
    stack.pop_back();
    std::error_code ec;
    for (const auto& e : sfs::directory_iterator(dir_ / cur, ec)) {
      std::string r = cur.empty() ? e.path().filename().string() : cur + "/" + e.path().filename().string();
      if (ignored(r)) continue;
      if (path_match(rel, r))
        out.push_back(r);
      else if (e.is_directory() && !e.is_symlink())
        stack.push_back(r);
    }
  }
  if (out.empty())
    throw Error("COPY failed: no source files were specified (nothing in the context matches " + source +
                ")");
  std::sort(out.begin(), out.end());
  return out;
}

std::string Context::digest(const std::vector<std::string>& sources) const {
  image::Sha256 h;
  std::vector<char> buf(64 << 10);
  std::vector<std::string> todo(sources.rbegin(), sources.rend());
  while (!todo.empty()) {
    std::string rel = todo.back();
    todo.pop_back();
    sfs::path p = dir_ / rel;
    struct stat st;
    check_sys(::lstat(p.c_str(), &st), "lstat", p);
    hash_field(h, rel);
    hash_field(h, std::to_string(st.st_mode));
    if (S_ISREG(st.st_mode)) {
      hash_field(h, std::to_string(st.st_size));
      UniqueFd fd(check_sys(::open(p.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC), "open", p));
      for (;;) {
        ssize_t n = ::read(fd.get(), buf.data(), buf.size());
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) throw_sys("read", p);
        if (n == 0) break;
        h.update(buf.data(), static_cast<size_t>(n));
      }
    } else if (S_ISLNK(st.st_mode)) {
      hash_field(h, sfs::read_symlink(p).string());
    } else if (S_ISDIR(st.st_mode)) {
      std::vector<std::string> children;
      for (const auto& e : sfs::directory_iterator(p)) {
        std::string r = rel.empty() ? e.path().filename().string() : rel + "/" + e.path().filename().string();
        if (!ignored(r)) children.push_back(r);
      }
      std::sort(children.rbegin(), children.rend());  // popped in sorted order
      for (auto& c : children) todo.push_back(std::move(c));
    }
  }
  return h.digest();
}

}  // namespace mctr::build
