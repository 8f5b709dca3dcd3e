#include "model/gguf.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <limits>

#include "util/error.h"
#include "util/fd.h"

namespace mctr::infer {

const char* type_name(GgmlType t) {
  switch (t) {
    case GgmlType::F32:
      return "F32";
    case GgmlType::F16:
      return "F16";
    case GgmlType::Q8_0:
      return "Q8_0";
  }
  return "?";
}

uint64_t type_block_size(GgmlType t) { return t == GgmlType::Q8_0 ? 32 : 1; }

size_t type_row_bytes(GgmlType t, uint64_t n) {
  switch (t) {
    case GgmlType::F32:
      return n * 4;
    case GgmlType::F16:
      return n * 2;
    case GgmlType::Q8_0:
      return n / 32 * 34;  // per block: fp16 scale + 32 int8
  }
  return 0;
}

uint64_t GgufTensor::n_elements() const {
  uint64_t n = 1;
  for (uint64_t d : dims) n *= d;
  return n;
}

namespace {

// A bounds-checked little-endian cursor over the mapped file.
class Reader {
 public:
  Reader(const uint8_t* p, size_t size, const std::string& path) : p_(p), size_(size), path_(path) {}

  template <typename T>
  T read() {
    need(sizeof(T), "value");
    T v;
    std::memcpy(&v, p_ + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }
  std::string read_string() {
    uint64_t n = read<uint64_t>();
    need(n, "string");
    std::string s(reinterpret_cast<const char*>(p_ + pos_), n);
    pos_ += n;
    return s;
  }
  // A count of items each at least `min_item` bytes: reject counts the file cannot hold.
  uint64_t read_count(size_t min_item, const char* what) {
    uint64_t n = read<uint64_t>();
    if (min_item && n > (size_ - pos_) / min_item)
      fail(std::string("implausible ") + what + " count " + std::to_string(n));
    return n;
  }
  size_t pos() const { return pos_; }
  [[noreturn]] void fail(const std::string& why) const {
    throw Error("gguf " + path_ + ": " + why + " (at byte " + std::to_string(pos_) + ")");
  }

 private:
  void need(uint64_t n, const char* what) const {
    if (n > size_ - pos_) fail(std::string("truncated file while reading ") + what);
  }
  const uint8_t* p_;
  size_t size_;
  size_t pos_ = 0;
  const std::string& path_;
};

size_t value_min_size(GgufValueType t) {
  switch (t) {
    case GgufValueType::U8:
    case GgufValueType::I8:
    case GgufValueType::BOOL:
      return 1;
    case GgufValueType::U16:
    case GgufValueType::I16:
      return 2;
    case GgufValueType::U32:
    case GgufValueType::I32:
    case GgufValueType::F32:
      return 4;
    case GgufValueType::U64:
    case GgufValueType::I64:
    case GgufValueType::F64:
    case GgufValueType::STRING:
      return 8;
    case GgufValueType::ARRAY:
      return 12;
  }
  return 1;
}

bool read_int(Reader& r, GgufValueType t, int64_t& out) {
  switch (t) {
    case GgufValueType::U8:
      out = r.read<uint8_t>();
      return true;
    case GgufValueType::I8:
      out = r.read<int8_t>();
      return true;
    case GgufValueType::U16:
      out = r.read<uint16_t>();
      return true;
    case GgufValueType::I16:
      out = r.read<int16_t>();
      return true;
    case GgufValueType::U32:
      out = r.read<uint32_t>();
      return true;
    case GgufValueType::I32:
      out = r.read<int32_t>();
      return true;
    case GgufValueType::I64:
      out = r.read<int64_t>();
      return true;
    case GgufValueType::U64:
      out = static_cast<int64_t>(r.read<uint64_t>());
      return true;
    default:
      return false;
  }
}

GgufValue read_value(Reader& r, GgufValueType t) {
  GgufValue val;
  int64_t i = 0;
  if (t == GgufValueType::U64) {
    val.v = r.read<uint64_t>();
  } else if (read_int(r, t, i)) {
    val.v = i;
  } else if (t == GgufValueType::F32) {
    val.v = static_cast<double>(r.read<float>());
  } else if (t == GgufValueType::F64) {
    val.v = r.read<double>();
  } else if (t == GgufValueType::BOOL) {
    val.v = r.read<uint8_t>() != 0;
  } else if (t == GgufValueType::STRING) {
    val.v = r.read_string();
  } else if (t == GgufValueType::ARRAY) {
    auto et = static_cast<GgufValueType>(r.read<uint32_t>());
    if (static_cast<uint32_t>(et) > 12 || et == GgufValueType::ARRAY)
      r.fail("unsupported array element type");
    uint64_t n = r.read_count(value_min_size(et), "array");
    if (et == GgufValueType::STRING) {
      std::vector<std::string> v;
      v.reserve(n);
      for (uint64_t k = 0; k < n; k++) v.push_back(r.read_string());
      val.v = std::move(v);
    } else if (et == GgufValueType::F32 || et == GgufValueType::F64) {
      std::vector<double> v(n);
      for (auto& x : v) x = et == GgufValueType::F32 ? r.read<float>() : r.read<double>();
      val.v = std::move(v);
    } else if (et == GgufValueType::BOOL) {
      std::vector<int64_t> v(n);
      for (auto& x : v) x = r.read<uint8_t>();
      val.v = std::move(v);
    } else {
      std::vector<int64_t> v(n);
      for (auto& x : v) read_int(r, et, x);
      val.v = std::move(v);
    }
  } else {
    r.fail("unknown metadata value type " + std::to_string(static_cast<uint32_t>(t)));
  }
  return val;
}

}  // namespace

GgufFile::GgufFile(const std::string& path) : path_(path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) throw_sys("open", path);
  struct stat st {};
  check_sys(::fstat(fd.get(), &st), "fstat", path);
  size_ = static_cast<size_t>(st.st_size);
  if (size_ < 24)
    throw Error("gguf " + path + ": file too small to be GGUF (" + std::to_string(size_) + " bytes)");
  // Map the whole file read-only: the kernel pages weights in on first touch and shares
  // them between processes using the same model.
  void* p = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd.get(), 0);
  if (p == MAP_FAILED) throw_sys("mmap", path);
  base_ = static_cast<const uint8_t*>(p);
  try {
    parse();
  } catch (...) {
    ::munmap(const_cast<uint8_t*>(base_), size_);
    throw;
  }
}

GgufFile::~GgufFile() {
  if (base_) ::munmap(const_cast<uint8_t*>(base_), size_);
}

void GgufFile::parse() {
  Reader r(base_, size_, path_);
  if (std::memcmp(base_, "GGUF", 4) != 0) r.fail("bad magic (not a GGUF file)");
  r.read<uint32_t>();
  version_ = r.read<uint32_t>();
  if (version_ != 2 && version_ != 3) r.fail("unsupported GGUF version " + std::to_string(version_));
  uint64_t n_tensors = r.read_count(24, "tensor");
  uint64_t n_kv = r.read_count(12, "metadata");
  for (uint64_t i = 0; i < n_kv; i++) {
    std::string key = r.read_string();
    auto t = static_cast<GgufValueType>(r.read<uint32_t>());
    kv_[key] = read_value(r, t);
  }
  uint64_t alignment = get_uint("general.alignment", 32);
  if (alignment == 0 || (alignment & (alignment - 1)) != 0 || alignment > 65536)
    r.fail("bad general.alignment " + std::to_string(alignment));
  for (uint64_t i = 0; i < n_tensors; i++) {
    GgufTensor t;
    t.name = r.read_string();
    uint32_t n_dims = r.read<uint32_t>();
    if (n_dims == 0 || n_dims > 4)
      r.fail("tensor " + t.name + ": bad dimension count " + std::to_string(n_dims));
    uint64_t n = 1;
    for (uint32_t d = 0; d < n_dims; d++) {
      uint64_t dim = r.read<uint64_t>();
      if (dim == 0 || dim > (uint64_t{1} << 40) || n > (uint64_t{1} << 40) / dim)
        r.fail("tensor " + t.name + ": implausible dimension " + std::to_string(dim));
      n *= dim;
      t.dims.push_back(dim);
    }
    uint32_t type = r.read<uint32_t>();
    if (type != 0 && type != 1 && type != 8)
      r.fail("tensor " + t.name + ": unsupported type " + std::to_string(type) + " (F32, F16, Q8_0 are)");
    t.type = static_cast<GgmlType>(type);
    if (t.dims[0] % type_block_size(t.type) != 0)
      r.fail("tensor " + t.name + ": row length not a multiple of the block size");
    t.offset = r.read<uint64_t>();
    if (t.offset % alignment != 0) r.fail("tensor " + t.name + ": misaligned offset");
    t.nbytes = type_row_bytes(t.type, t.dims[0]) * (n / t.dims[0]);
    tensors_.push_back(std::move(t));
  }
  size_t data_start = (r.pos() + alignment - 1) / alignment * alignment;
  for (auto& t : tensors_) {
    if (data_start > size_ || t.offset > size_ - data_start || t.nbytes > size_ - data_start - t.offset)
      throw Error("gguf " + path_ + ": tensor " + t.name + " data lies beyond the end of the file");
    t.data = base_ + data_start + t.offset;
  }
}

namespace {
template <typename T>
const T& get_as(const std::map<std::string, GgufValue>& kv, const std::string& key, const std::string& path,
                const char* want) {
  auto it = kv.find(key);
  if (it == kv.end()) throw Error("gguf " + path + ": missing metadata key " + key);
  if (auto* p = std::get_if<T>(&it->second.v)) return *p;
  throw Error("gguf " + path + ": metadata key " + key + " is not " + want);
}
}  // namespace

uint64_t GgufFile::get_uint(const std::string& key) const {
  auto it = kv_.find(key);
  if (it == kv_.end()) throw Error("gguf " + path_ + ": missing metadata key " + key);
  if (auto* u = std::get_if<uint64_t>(&it->second.v)) return *u;
  if (auto* i = std::get_if<int64_t>(&it->second.v); i && *i >= 0) return static_cast<uint64_t>(*i);
  throw Error("gguf " + path_ + ": metadata key " + key + " is not a non-negative integer");
}
uint64_t GgufFile::get_uint(const std::string& key, uint64_t fallback) const {
  return has(key) ? get_uint(key) : fallback;
}
double GgufFile::get_float(const std::string& key, double fallback) const {
  auto it = kv_.find(key);
  if (it == kv_.end()) return fallback;
  if (auto* d = std::get_if<double>(&it->second.v)) return *d;
  return static_cast<double>(get_uint(key));
}
std::string GgufFile::get_string(const std::string& key) const {
  return get_as<std::string>(kv_, key, path_, "a string");
}
std::string GgufFile::get_string(const std::string& key, const std::string& fallback) const {
  return has(key) ? get_string(key) : fallback;
}
bool GgufFile::get_bool(const std::string& key, bool fallback) const {
  return has(key) ? get_as<bool>(kv_, key, path_, "a bool") : fallback;
}
const std::vector<std::string>& GgufFile::get_strings(const std::string& key) const {
  return get_as<std::vector<std::string>>(kv_, key, path_, "an array of strings");
}
const std::vector<double>& GgufFile::get_floats(const std::string& key) const {
  return get_as<std::vector<double>>(kv_, key, path_, "an array of floats");
}
const std::vector<int64_t>& GgufFile::get_ints(const std::string& key) const {
  return get_as<std::vector<int64_t>>(kv_, key, path_, "an array of integers");
}

const GgufTensor* GgufFile::find_tensor(const std::string& name) const {
  for (auto& t : tensors_)
    if (t.name == name) return &t;
  return nullptr;
}
const GgufTensor& GgufFile::tensor(const std::string& name) const {
  if (auto* t = find_tensor(name)) return *t;
  throw Error("gguf " + path_ + ": missing tensor " + name);
}

// ---- writer ----

namespace {
// Appends raw bytes (resize + memcpy: GCC 12 warns falsely on vector::insert here).
void put_bytes(std::vector<uint8_t>& out, const void* p, size_t n) {
  if (n == 0) return;
  size_t at = out.size();
  out.resize(at + n);
  std::memcpy(out.data() + at, p, n);
}
template <typename T>
void put(std::vector<uint8_t>& out, T v) {
  put_bytes(out, &v, sizeof(T));
}
void put_string(std::vector<uint8_t>& out, const std::string& s) {
  put<uint64_t>(out, s.size());
  put_bytes(out, s.data(), s.size());
}
void put_key(std::vector<uint8_t>& out, const std::string& key, GgufValueType t) {
  put_string(out, key);
  put<uint32_t>(out, static_cast<uint32_t>(t));
}
}  // namespace

void GgufWriter::add_uint32(const std::string& key, uint32_t v) {
  put_key(meta_, key, GgufValueType::U32);
  put(meta_, v);
  n_kv_++;
}
void GgufWriter::add_float32(const std::string& key, float v) {
  put_key(meta_, key, GgufValueType::F32);
  put(meta_, v);
  n_kv_++;
}
void GgufWriter::add_bool(const std::string& key, bool v) {
  put_key(meta_, key, GgufValueType::BOOL);
  put<uint8_t>(meta_, v ? 1 : 0);
  n_kv_++;
}
void GgufWriter::add_string(const std::string& key, const std::string& v) {
  put_key(meta_, key, GgufValueType::STRING);
  put_string(meta_, v);
  n_kv_++;
}
void GgufWriter::add_strings(const std::string& key, const std::vector<std::string>& v) {
  put_key(meta_, key, GgufValueType::ARRAY);
  put<uint32_t>(meta_, static_cast<uint32_t>(GgufValueType::STRING));
  put<uint64_t>(meta_, v.size());
  for (auto& s : v) put_string(meta_, s);
  n_kv_++;
}
void GgufWriter::add_floats(const std::string& key, const std::vector<float>& v) {
  put_key(meta_, key, GgufValueType::ARRAY);
  put<uint32_t>(meta_, static_cast<uint32_t>(GgufValueType::F32));
  put<uint64_t>(meta_, v.size());
  for (float f : v) put(meta_, f);
  n_kv_++;
}
void GgufWriter::add_int32s(const std::string& key, const std::vector<int32_t>& v) {
  put_key(meta_, key, GgufValueType::ARRAY);
  put<uint32_t>(meta_, static_cast<uint32_t>(GgufValueType::I32));
  put<uint64_t>(meta_, v.size());
  for (int32_t i : v) put(meta_, i);
  n_kv_++;
}
void GgufWriter::add_tensor(const std::string& name, std::vector<uint64_t> dims, GgmlType type,
                            std::vector<uint8_t> data) {
  tensors_.push_back({name, std::move(dims), type, std::move(data)});
}

std::vector<uint8_t> GgufWriter::bytes() const {
  constexpr size_t kAlign = 32;
  std::vector<uint8_t> out;
  put<uint32_t>(out, 0x46554747);  // "GGUF" in little-endian byte order
  put<uint32_t>(out, 3);
  put<uint64_t>(out, tensors_.size());
  put<uint64_t>(out, n_kv_);
  put_bytes(out, meta_.data(), meta_.size());
  uint64_t offset = 0;
  for (auto& t : tensors_) {
    put_string(out, t.name);
    put<uint32_t>(out, static_cast<uint32_t>(t.dims.size()));
    for (uint64_t d : t.dims) put<uint64_t>(out, d);
    put<uint32_t>(out, static_cast<uint32_t>(t.type));
    put<uint64_t>(out, offset);
    offset = (offset + t.data.size() + kAlign - 1) / kAlign * kAlign;
  }
  for (auto& t : tensors_) {
    out.resize((out.size() + kAlign - 1) / kAlign * kAlign, 0);
    put_bytes(out, t.data.data(), t.data.size());
  }
  return out;
}

void GgufWriter::write(const std::string& path) const {
  auto b = bytes();
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!fd) throw_sys("open", path);
  size_t done = 0;
  while (done < b.size()) {
    ssize_t n = ::write(fd.get(), b.data() + done, b.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw_sys("write", path);
    done += static_cast<size_t>(n);
  }
}

}  // namespace mctr::infer
