// GGUF: the single-file model format of llama.cpp (versions 2 and 3).
//
// Layout: magic "GGUF", u32 version, u64 tensor count, u64 metadata count, then the
// metadata key/value pairs, then one info record per tensor (name, dims, type, offset),
// then padding to `general.alignment` (default 32) and the tensor data. All integers are
// little-endian. The file is memory-mapped read-only: tensor data is used where it lies.
//
// Every length and offset read from the file is checked against the file size before it
// is used, so a truncated or lying file gives one clear mctr::Error, never a crash.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <variant>
#include <vector>

namespace mctr::infer {

// ggml's type ids for the tensor types this reader understands.
enum class GgmlType : uint32_t { F32 = 0, F16 = 1, Q8_0 = 8 };

const char* type_name(GgmlType t);
// Bytes taken by `n` elements of type t (n must be a multiple of the block size).
size_t type_row_bytes(GgmlType t, uint64_t n);
// Elements per block: 1 for F32/F16, 32 for Q8_0.
uint64_t type_block_size(GgmlType t);

// GGUF's metadata value types.
enum class GgufValueType : uint32_t {
  U8 = 0,
  I8 = 1,
  U16 = 2,
  I16 = 3,
  U32 = 4,
  I32 = 5,
  F32 = 6,
  BOOL = 7,
  STRING = 8,
  ARRAY = 9,
  U64 = 10,
  I64 = 11,
  F64 = 12
};

// One metadata value. Arrays of numbers are widened (ints to int64, floats to double);
// arrays of strings stay strings.
struct GgufValue {
  std::variant<int64_t, uint64_t, double, bool, std::string, std::vector<int64_t>, std::vector<double>,
               std::vector<std::string>>
      v;
};

struct GgufTensor {
  std::string name;
  std::vector<uint64_t> dims;  // dims[0] is the innermost (contiguous) dimension, as in ggml
  GgmlType type = GgmlType::F32;
  uint64_t offset = 0;  // from the start of the data section
  const uint8_t* data = nullptr;
  size_t nbytes = 0;
  uint64_t n_elements() const;
};

class GgufFile {
 public:
  // Map and parse `path`. Throws mctr::Error naming the file and what is wrong.
  explicit GgufFile(const std::string& path);
  ~GgufFile();
  GgufFile(const GgufFile&) = delete;
  GgufFile& operator=(const GgufFile&) = delete;

  uint32_t version() const { return version_; }
  const std::string& path() const { return path_; }
  size_t file_size() const { return size_; }

  bool has(const std::string& key) const { return kv_.count(key) != 0; }
  // Typed getters: throw if the key is missing or has another type.
  uint64_t get_uint(const std::string& key) const;
  uint64_t get_uint(const std::string& key, uint64_t fallback) const;
  double get_float(const std::string& key, double fallback) const;
  std::string get_string(const std::string& key) const;
  std::string get_string(const std::string& key, const std::string& fallback) const;
  bool get_bool(const std::string& key, bool fallback) const;
  const std::vector<std::string>& get_strings(const std::string& key) const;
  const std::vector<double>& get_floats(const std::string& key) const;
  const std::vector<int64_t>& get_ints(const std::string& key) const;

  const std::vector<GgufTensor>& tensors() const { return tensors_; }
  const GgufTensor* find_tensor(const std::string& name) const;
  const GgufTensor& tensor(const std::string& name) const;  // throws if missing

 private:
  void parse();
  std::string path_;
  const uint8_t* base_ = nullptr;
  size_t size_ = 0;
  uint32_t version_ = 0;
  std::map<std::string, GgufValue> kv_;
  std::vector<GgufTensor> tensors_;
};

// Builds a GGUF v3 file in memory (used by tests and the benchmark to make models).
class GgufWriter {
 public:
  void add_uint32(const std::string& key, uint32_t v);
  void add_float32(const std::string& key, float v);
  void add_bool(const std::string& key, bool v);
  void add_string(const std::string& key, const std::string& v);
  void add_strings(const std::string& key, const std::vector<std::string>& v);
  void add_floats(const std::string& key, const std::vector<float>& v);
  void add_int32s(const std::string& key, const std::vector<int32_t>& v);
  // `data` must hold type_row_bytes(type, dims[0]) * (product of the other dims) bytes.
  void add_tensor(const std::string& name, std::vector<uint64_t> dims, GgmlType type,
                  std::vector<uint8_t> data);
  std::vector<uint8_t> bytes() const;
  void write(const std::string& path) const;  // throws SysError

 private:
  std::vector<uint8_t> meta_;
  uint64_t n_kv_ = 0;
  struct Pending {
    std::string name;
    std::vector<uint64_t> dims;
    GgmlType type;
    std::vector<uint8_t> data;
  };
  std::vector<Pending> tensors_;
};

}  // namespace mctr::infer
