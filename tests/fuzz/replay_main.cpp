// The fuzz targets without libFuzzer: runs LLVMFuzzerTestOneInput once on
// each file named on the command line (directories: each file in them, sorted).
// The regular build links the targets' entry functions with this main, so the
// regression inputs under tests/fuzz/regressions/ replay in every unit test
// pass, the ASan/UBSan pass included. A crash, a sanitizer report or an
// exception other than mctr::Error fails the run, naming the input first.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

std::vector<std::filesystem::path> inputs(int argc, char** argv) {
  std::vector<std::filesystem::path> out;
  for (int i = 1; i < argc; i++) {
    std::filesystem::path p = argv[i];
    if (!std::filesystem::is_directory(p)) {
      out.push_back(p);
      continue;
    }
    std::vector<std::filesystem::path> in_dir;
    for (const auto& e : std::filesystem::directory_iterator(p))
      if (e.is_regular_file() && !e.path().filename().string().starts_with(".")) in_dir.push_back(e.path());
    std::sort(in_dir.begin(), in_dir.end());
    out.insert(out.end(), in_dir.begin(), in_dir.end());
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s FILE|DIR...\n", argv[0]);
    return 2;
  }
  size_t n = 0;
  for (const auto& p : inputs(argc, argv)) {
    std::ifstream f(p, std::ios::binary);
    if (!f) {
      std::fprintf(stderr, "%s: cannot read\n", p.c_str());
      return 1;
    }
    std::string bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    std::fprintf(stderr, "replay %s (%zu bytes)\n", p.c_str(), bytes.size());
    LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
    n++;
  }
  std::printf("replayed %zu inputs\n", n);
  return 0;
}
