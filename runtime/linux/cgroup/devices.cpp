// The device allow-list on cgroup v1 (text rules) and v2 (a BPF program).
// The v2 program follows runc's libcontainer/cgroups/devices/devicefilter.go.
#include "linux/cgroup/devices.h"

#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>

#include "util/error.h"
#include "util/explain.h"
#include "util/fs.h"

namespace mctr::cgroup {

std::vector<DeviceRule> device_allow_list(bool privileged) {
  if (privileged) return {{'a', kAnyNumber, kAnyNumber, "rwm"}};
  return {
      {'c', kAnyNumber, kAnyNumber, "m"},  // mknod of any char device...
      {'b', kAnyNumber, kAnyNumber, "m"},  // ...or block device is fine: opening it is not
      {'c', 1, 3, "rwm"},                  // /dev/null
      {'c', 1, 5, "rwm"},                  // /dev/zero
      {'c', 1, 7, "rwm"},                  // /dev/full
      {'c', 1, 8, "rwm"},                  // /dev/random
      {'c', 1, 9, "rwm"},                  // /dev/urandom
      {'c', 5, 0, "rwm"},                  // /dev/tty
      {'c', 5, 1, "rwm"},                  // /dev/console
      {'c', 5, 2, "rwm"},                  // /dev/ptmx
      {'c', 136, kAnyNumber, "rwm"},       // /dev/pts/*
      {'c', 10, 200, "rwm"},               // /dev/net/tun
  };
}

static std::string number(int64_t n) { return n == kAnyNumber ? "*" : std::to_string(n); }

std::string to_string(const DeviceRule& r) {
  return std::string(1, r.type) + " " + number(r.major) + ":" + number(r.minor) + " " + r.access;
}

bool allows_everything(const std::vector<DeviceRule>& rules) {
  for (const auto& r : rules)
    if (r.type == 'a' && r.major == kAnyNumber && r.minor == kAnyNumber && r.access == "rwm") return true;
  return false;
}

// ---- cgroup v1 --------------------------------------------------------------

void apply_devices_v1(const std::filesystem::path& devices_dir, const std::vector<DeviceRule>& allow) {
  if (explain::on()) {
    std::string rules;
    for (const auto& r : allow) rules += " " + explain::sh_quote(to_string(r));
    explain::step("write(2)", "echo a > " + explain::sh_quote((devices_dir / "devices.deny").string()) +
                                  "; for r in" + rules + "; do echo \"$r\" > " +
                                  explain::sh_quote((devices_dir / "devices.allow").string()) + "; done");
  }
  // "a" denies every device; a v1 child starts with its parent's list.
  fs::write_file(devices_dir / "devices.deny", "a");
  // One rule per write(2), all through one open file.
  auto path = devices_dir / "devices.allow";
  UniqueFd fd(check_sys(::open(path.c_str(), O_WRONLY | O_CLOEXEC), "open", path));
  for (const auto& r : allow) {
    std::string rule = to_string(r);
    if (::write(fd.get(), rule.data(), rule.size()) != static_cast<ssize_t>(rule.size()))
      throw_sys("write", path);
  }
}

// ---- cgroup v2: BPF_PROG_TYPE_CGROUP_DEVICE ---------------------------------
//
// The program gets a struct bpf_cgroup_dev_ctx in R1:
//   u32 access_type   low 16 bits: BPF_DEVCG_DEV_BLOCK (1) or _CHAR (2)
//                     high 16 bits: BPF_DEVCG_ACC_MKNOD (1) | _READ (2) | _WRITE (4)
//   u32 major, u32 minor
// and returns 1 (allow) or 0 (deny: the syscall fails with EPERM).

namespace {

// The handful of eBPF instructions we need, named like the kernel's
// BPF_* macros in samples/bpf/bpf_insn.h.
bpf_insn insn(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm) {
  bpf_insn i{};
  i.code = code;
  i.dst_reg = dst & 0xf;
  i.src_reg = src & 0xf;
  i.off = off;
  i.imm = imm;
  return i;
}
bpf_insn load_u32(uint8_t dst, uint8_t src, int16_t off) {
  return insn(BPF_LDX | BPF_MEM | BPF_W, dst, src, off, 0);
}
bpf_insn and32_imm(uint8_t dst, int32_t imm) { return insn(BPF_ALU | BPF_AND | BPF_K, dst, 0, 0, imm); }
bpf_insn rsh32_imm(uint8_t dst, int32_t imm) { return insn(BPF_ALU | BPF_RSH | BPF_K, dst, 0, 0, imm); }
bpf_insn mov32_reg(uint8_t dst, uint8_t src) { return insn(BPF_ALU | BPF_MOV | BPF_X, dst, src, 0, 0); }
bpf_insn mov64_imm(uint8_t dst, int32_t imm) { return insn(BPF_ALU64 | BPF_MOV | BPF_K, dst, 0, 0, imm); }
bpf_insn jne_imm(uint8_t dst, int32_t imm, int16_t off) {
  return insn(BPF_JMP | BPF_JNE | BPF_K, dst, 0, off, imm);
}
bpf_insn jne_reg(uint8_t dst, uint8_t src, int16_t off) {
  return insn(BPF_JMP | BPF_JNE | BPF_X, dst, src, off, 0);
}
bpf_insn exit_insn() { return insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0); }

enum : uint8_t { R0 = 0, R1, R2, R3, R4, R5 };

int32_t access_bits(const std::string& access) {
  int32_t bits = 0;
  for (char c : access) {
    if (c == 'm')
      bits |= BPF_DEVCG_ACC_MKNOD;
    else if (c == 'r')
      bits |= BPF_DEVCG_ACC_READ;
    else if (c == 'w')
      bits |= BPF_DEVCG_ACC_WRITE;
    else
      throw Error("device rule: bad access \"" + access + "\"");
  }
  return bits;
}

// One rule: a block of checks, each jumping past the block on mismatch;
// falling through to the end means "allow".
std::vector<bpf_insn> rule_block(const DeviceRule& r) {
  constexpr int16_t kNext = -1;  // patched below to "first instruction after this block"
  std::vector<bpf_insn> b;
  if (r.type == 'b' || r.type == 'c')
    b.push_back(jne_imm(R2, r.type == 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR, kNext));
  else if (r.type != 'a')
    throw Error(std::string("device rule: bad type '") + r.type + "'");
  int32_t allowed = access_bits(r.access);
  if (allowed != (BPF_DEVCG_ACC_MKNOD | BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE)) {
    // Allowed only if every requested access bit is in the rule: (req & allowed) == req.
    b.push_back(mov32_reg(R1, R3));
    b.push_back(and32_imm(R1, allowed));
    b.push_back(jne_reg(R1, R3, kNext));
  }
  if (r.major != kAnyNumber) b.push_back(jne_imm(R4, static_cast<int32_t>(r.major), kNext));
  if (r.minor != kAnyNumber) b.push_back(jne_imm(R5, static_cast<int32_t>(r.minor), kNext));
  b.push_back(mov64_imm(R0, 1));  // match: allow
  b.push_back(exit_insn());
  for (size_t i = 0; i < b.size(); ++i)
    if (BPF_CLASS(b[i].code) == BPF_JMP && BPF_OP(b[i].code) == BPF_JNE)
      b[i].off = static_cast<int16_t>(b.size() - i - 1);  // jump offsets count from the next instruction
  return b;
}

long bpf(int cmd, union bpf_attr* attr) { return syscall(SYS_bpf, cmd, attr, sizeof(*attr)); }

uint64_t ptr(const void* p) { return reinterpret_cast<uintptr_t>(p); }

// The verifier's complaint: the last log line before its statistics.
std::string verifier_complaint(const char* log) {
  std::string s = fs::trim(log), last;
  size_t pos = 0;
  while (pos < s.size()) {
    size_t nl = s.find('\n', pos);
    std::string line = s.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
    if (line.rfind("processed ", 0) == 0) break;
    if (!line.empty()) last = line;
    if (nl == std::string::npos) break;
    pos = nl + 1;
  }
  return last;
}

}  // namespace

std::vector<bpf_insn> device_filter_program(const std::vector<DeviceRule>& allow) {
  std::vector<bpf_insn> p = {
      load_u32(R2, R1, 0),                       // R2 = access_type
      and32_imm(R2, 0xFFFF),                     // R2 = device type
      load_u32(R3, R1, 0),   rsh32_imm(R3, 16),  // R3 = requested access
      load_u32(R4, R1, 4),                       // R4 = major
      load_u32(R5, R1, 8),                       // R5 = minor
  };
  for (const auto& r : allow) {
    auto block = rule_block(r);
    p.insert(p.end(), block.begin(), block.end());
    // "a *:* rwm" always allows: the verifier rejects code after it as unreachable.
    if (r.type == 'a' && r.major == kAnyNumber && r.minor == kAnyNumber && access_bits(r.access) == 7)
      return p;
  }
  p.push_back(mov64_imm(R0, 0));  // no rule matched: deny
  p.push_back(exit_insn());
  return p;
}

UniqueFd load_device_filter(const std::vector<DeviceRule>& allow) {
  std::vector<bpf_insn> prog = device_filter_program(allow);
  static const char license[] = "GPL";
  union bpf_attr attr;
  std::memset(&attr, 0, sizeof attr);
  attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
  attr.insns = ptr(prog.data());
  attr.insn_cnt = static_cast<uint32_t>(prog.size());
  attr.license = ptr(license);
  int fd = static_cast<int>(bpf(BPF_PROG_LOAD, &attr));
  if (fd >= 0) return UniqueFd(fd);
  int err = errno;
  if (err != EACCES && err != EINVAL) throw SysError("bpf(BPF_PROG_LOAD)", "", err);
  // Load again with the verifier's log to say why it refused.
  std::vector<char> log(size_t{64} * 1024, '\0');
  attr.log_buf = ptr(log.data());
  attr.log_size = static_cast<uint32_t>(log.size());
  attr.log_level = 1;
  fd = static_cast<int>(bpf(BPF_PROG_LOAD, &attr));
  if (fd >= 0) return UniqueFd(fd);
  throw Error("bpf(BPF_PROG_LOAD): device filter rejected: " + std::string(strerror(err)) + ": " +
              verifier_complaint(log.data()));
}

void attach_device_filter(const std::filesystem::path& cgroup_dir, int prog_fd) {
  UniqueFd dir(::open(cgroup_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir) throw_sys("open", cgroup_dir);
  union bpf_attr attr;
  std::memset(&attr, 0, sizeof attr);
  attr.target_fd = static_cast<uint32_t>(dir.get());
  attr.attach_bpf_fd = static_cast<uint32_t>(prog_fd);
  attr.attach_type = BPF_CGROUP_DEVICE;
  // MULTI: programs of parent cgroups keep running too; all must allow.
  attr.attach_flags = BPF_F_ALLOW_MULTI;
  if (bpf(BPF_PROG_ATTACH, &attr) != 0) throw_sys("bpf(BPF_PROG_ATTACH)", cgroup_dir);
}

void apply_devices_v2(const std::filesystem::path& cgroup_dir, const std::vector<DeviceRule>& allow) {
  // No Debian tool loads a cgroup device program from a shell: the one line
  // that cannot be replayed.
  explain::step(
      explain::Kind::kNotReplayable, "bpf(2)",
      "# not replayable: BPF_PROG_LOAD a cgroup device filter, BPF_PROG_ATTACH it to " + cgroup_dir.string());
  UniqueFd prog = load_device_filter(allow);
  attach_device_filter(cgroup_dir, prog.get());
}

}  // namespace mctr::cgroup
