#include "build/decompress.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <unistd.h>

#include <memory>
#include <vector>

#include "image/digest.h"
#include "util/error.h"
#include "util/fd.h"

namespace mctr::build {

namespace {
struct ReadFree {
  void operator()(archive* a) const { archive_read_free(a); }
};
}  // namespace

std::string decompress_to(const std::string& source, const std::filesystem::path& out,
                          const std::string& what) {
  std::unique_ptr<archive, ReadFree> a(archive_read_new());
  archive_read_support_filter_all(a.get());
  archive_read_support_format_raw(a.get());  // the bytes, not the tar's entries
  int r = source == "-" ? archive_read_open_fd(a.get(), STDIN_FILENO, 1 << 16)
                        : archive_read_open_filename(a.get(), source.c_str(), 1 << 16);
  auto fail = [&](const std::string& why) {
    const char* m = archive_error_string(a.get());
    throw Error(what + ": " + (source == "-" ? std::string("stdin") : source) + ": " + why +
                (m ? std::string(": ") + m : ""));
  };
  if (r != ARCHIVE_OK) fail("cannot open");
  archive_entry* e;
  r = archive_read_next_header(a.get(), &e);
  if (r == ARCHIVE_EOF) fail("empty input");
  if (r < ARCHIVE_WARN) fail("cannot read");
  UniqueFd fd(check_sys(::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600), "open", out));
  image::Sha256 hash;
  std::vector<char> buf(256 << 10);
  for (;;) {
    la_ssize_t n = archive_read_data(a.get(), buf.data(), buf.size());
    if (n < 0) fail("cannot read");
    if (n == 0) break;
    hash.update(buf.data(), static_cast<size_t>(n));
    for (la_ssize_t done = 0; done < n;) {
      ssize_t w = ::write(fd.get(), buf.data() + done, static_cast<size_t>(n - done));
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) throw_sys("write", out);
      done += w;
    }
  }
  return hash.digest();
}

}  // namespace mctr::build
