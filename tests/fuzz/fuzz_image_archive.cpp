// libFuzzer target: any bytes, loaded as an image archive into a private
// store exactly as `minictr load FILE` does (Store::load): the outer tar and
// its compression, index.json / manifest.json / manifests / configs (JSON),
// each layer's decompression and tar unpack, the store's records.
//
// The only acceptable failure is mctr::Error (one clear line, exit 125): any
// other exception escapes and libFuzzer reports it, as it does crashes,
// sanitizer findings, leaks and timeouts.
//
// Disk: the store lives in a private temp dir ($TMPDIR, else /tmp), emptied
// after every input; a layer may unpack at most kMaxLayerBytes and
// kMaxLayerEntries, and an image at most kMaxLayers layers, so one input
// never writes more than ~kMaxLayers * kMaxLayerBytes. Without root, chown
// and mknod fail with a clean Error: the harness runs, with less coverage.
#include <stdlib.h>

#include <cstdint>
#include <filesystem>
#include <string>

#include "image/store.h"
#include "memfd_input.h"
#include "util/error.h"
#include "util/fs.h"

namespace {

constexpr uint64_t kMaxLayerBytes = 8 << 20;
constexpr uint64_t kMaxLayerEntries = 2000;
constexpr size_t kMaxLayers = 8;

// One temp dir per process, removed at exit (a crash leaves it behind:
// scripts/fuzz points TMPDIR into a dir it removes itself).
class WorkDir {
 public:
  WorkDir() {
    const char* tmp = std::getenv("TMPDIR");
    std::string tmpl = std::string(tmp && *tmp ? tmp : "/tmp") + "/minictr-fuzz-image.XXXXXX";
    if (!::mkdtemp(tmpl.data())) mctr::throw_sys("mkdtemp", tmpl);
    dir_ = tmpl;
  }
  ~WorkDir() { mctr::fs::remove_tree(dir_); }
  std::filesystem::path store() const { return dir_ / "store"; }

 private:
  std::filesystem::path dir_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static WorkDir work;
  mctr::fuzz::MemfdInput input(data, size);
  mctr::image::LoadLimits limits;
  limits.max_unpacked_bytes = kMaxLayerBytes;
  limits.max_entries = kMaxLayerEntries;
  limits.max_layers = kMaxLayers;
  try {
    mctr::image::Store store(work.store());
    store.load(input.path(), {}, limits);
  } catch (const mctr::Error& e) {
    // Rejected with a clear message: what hostile input should get.
    mctr::fuzz::show_rejection(e);
  }
  // Each input starts from an empty store: a layer left by one input would
  // change what the next one does (and make crashes irreproducible).
  mctr::fs::remove_tree(work.store());
  return 0;
}
