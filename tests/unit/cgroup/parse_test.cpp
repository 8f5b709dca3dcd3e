// Parsing and layout detection on fake cgroup files in a temp dir (no root).
#include "linux/cgroup/parse.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "linux/cgroup/detect.h"
#include "linux/cgroup/host_stats.h"
#include "linux/cgroup/manager.h"
#include "util/error.h"

namespace fsys = std::filesystem;
using namespace mctr::cgroup;

namespace {

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fsys::temp_directory_path() / "mctr-cgroup-test-XXXXXX").string();
    path_ = ::mkdtemp(tmpl.data());
  }
  ~TempDir() { fsys::remove_all(path_); }
  const fsys::path& path() const { return path_; }

 private:
  fsys::path path_;
};

void put(const fsys::path& p, const std::string& text) {
  fsys::create_directories(p.parent_path());
  std::ofstream(p) << text;
}

std::string get(const fsys::path& p) {
  std::ifstream in(p);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

}  // namespace

TEST(CgroupParse, FlatKeyed) {
  auto kv = parse_flat_keyed("anon 1234\nfile 5678\ninactive_file 4096\nbad\n");
  EXPECT_EQ(kv["anon"], 1234u);
  EXPECT_EQ(kv["inactive_file"], 4096u);
  EXPECT_EQ(kv.count("bad"), 0u);
}

TEST(CgroupParse, Limits) {
  EXPECT_EQ(parse_limit("max\n"), std::nullopt);
  EXPECT_EQ(parse_limit("33554432\n"), 33554432u);
  EXPECT_EQ(parse_u64("9223372036854771712\n"), 9223372036854771712u);
  EXPECT_THROW(parse_u64("12abc"), mctr::Error);
}

TEST(CgroupParse, IoStatSumsDevices) {
  IoBytes io = parse_io_stat(
      "8:0 rbytes=1000 wbytes=2000 rios=1 wios=2 dbytes=0 dios=0\n"
      "254:0 rbytes=30 wbytes=40 rios=1 wios=1 dbytes=5 dios=1\n");
  EXPECT_EQ(io.read, 1030u);
  EXPECT_EQ(io.write, 2040u);
  EXPECT_EQ(parse_io_stat("").read, 0u);
}

TEST(CgroupParse, BlkioServiceBytes) {
  IoBytes io = parse_blkio_service_bytes(
      "8:0 Read 4096\n8:0 Write 8192\n8:0 Sync 100\n8:0 Async 12188\n8:0 Discard 0\n8:0 Total 12288\n"
      "8:16 Read 1\n8:16 Write 2\n8:16 Total 3\nTotal 12291\n");
  EXPECT_EQ(io.read, 4097u);
  EXPECT_EQ(io.write, 8194u);
}

TEST(CgroupParse, ProcStatLikeMoby) {
  // user nice system idle iowait irq softirq | steal guest guest_nice (ignored)
  std::string stat = "cpu  100 2 30 1000 4 5 6 7 8 9\ncpu0 50 1 15 500 2 2 3 3 4 4\n";
  EXPECT_EQ(parse_proc_stat_cpu_ns(stat, 100), (100 + 2 + 30 + 1000 + 4 + 5 + 6) * 10'000'000ULL);
}

TEST(CgroupParse, MeminfoAndWeight) {
  EXPECT_EQ(parse_meminfo_total("MemTotal:       24684544 kB\nMemFree: 1 kB\n"), 24684544ULL * 1024);
  EXPECT_EQ(shares_to_weight(2), 1u);
  EXPECT_EQ(shares_to_weight(1024), 39u);  // runc: 1 + (1022 * 9999) / 262142
  EXPECT_EQ(shares_to_weight(262144), 10000u);
}

TEST(CgroupParse, CpuPercentLikeDocker) {
  // 0.5 s of container CPU while the 2-CPU host ran 2 s of CPU time in total -> 50%.
  EXPECT_DOUBLE_EQ(cpu_percent(0, 500'000'000, 0, 2'000'000'000, 2), 50.0);
  EXPECT_EQ(cpu_percent(5, 10, 7, 7, 2), 0.0);
  EXPECT_GT(host_cpu_usage_ns(), 0u);
  EXPECT_GE(online_cpus(), 1u);
}

TEST(CgroupDetect, Hybrid) {
  std::string mi =
      "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
      "32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime shared:9 - cgroup cgroup rw,cpu,cpuacct\n"
      "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
      "40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd\n"
      "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw,nsdelegate\n"
      "50 23 0:50 / /other/cgroup rw - cgroup cgroup rw,pids\n";
  HostLayout h = parse_mountinfo(mi, "/sys/fs/cgroup");
  EXPECT_EQ(h.layout, Layout::kHybrid);
  EXPECT_EQ(h.unified, "/sys/fs/cgroup/unified");
  EXPECT_EQ(h.v1.at("cpu"), "/sys/fs/cgroup/cpu,cpuacct");
  EXPECT_EQ(h.v1.at("cpuacct"), "/sys/fs/cgroup/cpu,cpuacct");
  EXPECT_EQ(h.v1.at("memory"), "/sys/fs/cgroup/memory");
  EXPECT_EQ(h.v1.count("pids"), 0u);     // not under /sys/fs/cgroup
  EXPECT_EQ(h.v1.count("systemd"), 0u);  // a named hierarchy, no controller
}

TEST(CgroupDetect, UnifiedAndLegacy) {
  HostLayout v2 = parse_mountinfo(
      "29 23 0:26 / /sys/fs/cgroup rw,nosuid shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot\n",
      "/sys/fs/cgroup");
  EXPECT_EQ(v2.layout, Layout::kUnified);
  EXPECT_EQ(v2.unified, "/sys/fs/cgroup");
  HostLayout v1 = parse_mountinfo(
      "35 31 0:32 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n"
      "36 31 0:33 / /sys/fs/cgroup/my\\040pids rw - cgroup cgroup rw,pids\n",
      "/sys/fs/cgroup");
  EXPECT_EQ(v1.layout, Layout::kLegacy);
  EXPECT_EQ(v1.v1.at("pids"), "/sys/fs/cgroup/my pids");
  EXPECT_EQ(parse_mountinfo("", "/sys/fs/cgroup").layout, Layout::kNone);
}

TEST(CgroupDetect, ThisHost) {
  HostLayout h = detect_layout();
  EXPECT_NE(h.layout, Layout::kNone);
  if (h.layout == Layout::kUnified) {
    EXPECT_TRUE(fsys::exists(h.unified / "cgroup.controllers"));
  }
  for (const auto& [ctrl, mnt] : h.v1) EXPECT_TRUE(fsys::exists(mnt / "cgroup.procs")) << ctrl;
}

TEST(CgroupFake, V2StatsFromFiles) {
  TempDir t;
  fsys::path g = t.path() / "minictr" / "c1";
  put(t.path() / "cgroup.controllers", "cpuset cpu io memory pids\n");
  put(g / "cpu.stat", "usage_usec 1500\nuser_usec 1000\nsystem_usec 500\n");
  put(g / "memory.current", "10485760\n");
  put(g / "memory.stat", "anon 4096\nfile 8192\ninactive_file 2097152\nactive_file 1\n");
  put(g / "memory.max", "33554432\n");
  put(g / "io.stat", "8:0 rbytes=512 wbytes=1024 rios=1 wios=1 dbytes=0 dios=0\n");
  put(g / "pids.current", "3\n");
  put(g / "pids.max", "max\n");
  put(g / "memory.events", "low 0\nhigh 0\nmax 7\noom 1\noom_kill 1\n");
  auto m = make_manager("c1", t.path());
  EXPECT_EQ(m->version(), Version::kV2);
  EXPECT_EQ(m->path(), g.string());
  Stats s = m->stats();
  EXPECT_EQ(s.cpu_usage_ns, 1'500'000u);
  EXPECT_EQ(m->cpu_usage_ns(), 1'500'000u);  // the first sample of `stats`
  EXPECT_EQ(s.memory_usage, 10485760u - 2097152u);
  EXPECT_EQ(s.memory_limit, 33554432u);
  EXPECT_EQ(s.blk_read, 512u);
  EXPECT_EQ(s.blk_write, 1024u);
  EXPECT_EQ(s.pids_current, 3u);
  EXPECT_EQ(s.pids_limit, 0u);
  EXPECT_TRUE(s.oom_killed);
  put(g / "memory.max", "max\n");
  put(g / "memory.events", "oom 0\noom_kill 0\n");
  s = m->stats();
  EXPECT_EQ(s.memory_limit, host_memory_total());
  EXPECT_FALSE(s.oom_killed);
  EXPECT_EQ(list_groups(t.path()), std::vector<std::string>{"c1"});
}

TEST(CgroupFake, V2ApplyWritesKernelValues) {
  TempDir t;
  fsys::path g = t.path() / "minictr" / "c1";
  put(t.path() / "cgroup.controllers", "cpu memory pids\n");
  for (const char* f : {"cpu.max", "cpu.weight", "memory.max", "memory.swap.max", "pids.max", "cpuset.cpus"})
    put(g / f, "");
  auto m = make_manager("c1", t.path());
  Resources r;
  r.cpus = 0.5;
  r.cpu_shares = 1024;
  r.memory = 32 << 20;
  r.memory_swap = 48 << 20;
  r.pids_limit = 32;
  r.cpuset_cpus = "0";
  m->apply(r);
  EXPECT_EQ(get(g / "cpu.max"), "50000 100000");
  EXPECT_EQ(get(g / "cpu.weight"), "39");
  EXPECT_EQ(get(g / "memory.max"), "33554432");
  EXPECT_EQ(get(g / "memory.swap.max"), std::to_string(16 << 20));  // v2 limits swap alone
  EXPECT_EQ(get(g / "pids.max"), "32");
  EXPECT_EQ(get(g / "cpuset.cpus"), "0");
  Resources unlimited;
  unlimited.cpus = 0;
  unlimited.pids_limit = -1;
  unlimited.memory_swap = -1;
  m->apply(unlimited);
  EXPECT_EQ(get(g / "cpu.max"), "max 100000");
  EXPECT_EQ(get(g / "pids.max"), "max");
  EXPECT_EQ(get(g / "memory.swap.max"), "max");
}

TEST(CgroupFake, V1StatsFromFiles) {
  TempDir t;
  fsys::path mem = t.path() / "memory" / "minictr" / "c2";
  fsys::path acct = t.path() / "cpu,cpuacct" / "minictr" / "c2";
  fsys::path pids = t.path() / "pids" / "minictr" / "c2";
  fsys::path blkio = t.path() / "blkio" / "minictr" / "c2";
  put(mem / "memory.usage_in_bytes", "20971520\n");
  put(mem / "memory.stat", "cache 100\ninactive_file 7\ntotal_inactive_file 4194304\n");
  put(mem / "memory.limit_in_bytes", "9223372036854771712\n");
  put(mem / "memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n");
  put(acct / "cpuacct.usage", "123456789\n");
  put(pids / "pids.current", "5\n");
  put(pids / "pids.max", "32\n");
  put(blkio / "blkio.throttle.io_service_bytes_recursive",
      "8:0 Read 100\n8:0 Write 200\n8:0 Total 300\nTotal 300\n");
  put(blkio / "blkio.throttle.io_service_bytes", "8:0 Read 1\n8:0 Write 2\nTotal 3\n");
  auto m = make_manager("c2", t.path());
  EXPECT_EQ(m->version(), Version::kV1);
  Stats s = m->stats();
  EXPECT_EQ(s.cpu_usage_ns, 123456789u);
  EXPECT_EQ(m->cpu_usage_ns(), 123456789u);
  EXPECT_EQ(s.memory_usage, 20971520u - 4194304u);
  EXPECT_EQ(s.memory_limit, host_memory_total());  // "unlimited" -> host RAM
  EXPECT_EQ(s.blk_read, 100u);                     // the _recursive file is preferred
  EXPECT_EQ(s.blk_write, 200u);
  EXPECT_EQ(s.pids_current, 5u);
  EXPECT_EQ(s.pids_limit, 32u);
  EXPECT_TRUE(s.oom_killed);
  // Older kernels: no oom_kill line, only under_oom.
  put(mem / "memory.oom_control", "oom_kill_disable 0\nunder_oom 0\n");
  put(mem / "memory.limit_in_bytes", "33554432\n");
  s = m->stats();
  EXPECT_FALSE(s.oom_killed);
  EXPECT_EQ(s.memory_limit, 33554432u);
  EXPECT_EQ(list_groups(t.path()), std::vector<std::string>{"c2"});
}

TEST(CgroupFake, RejectsBadIdAndEmptyRoot) {
  TempDir t;
  EXPECT_THROW(make_manager("../x", t.path()), mctr::Error);
  EXPECT_THROW(make_manager("c1", t.path()), mctr::Error);  // no hierarchy in an empty dir
}

// `stats` detects the layout once and makes every container's manager from it.
TEST(CgroupFake, ManagerFromADetectedLayout) {
  HostLayout v2{Layout::kUnified, "/fake/cg", {}};
  auto m = make_manager("c1", v2);
  EXPECT_EQ(m->version(), Version::kV2);
  EXPECT_EQ(m->path(), "/fake/cg/minictr/c1");
  HostLayout v1{
      Layout::kHybrid, "/fake/cg/unified", {{"memory", "/fake/cg/memory"}, {"pids", "/fake/cg/pids"}}};
  auto m1 = make_manager("c2", v1);
  EXPECT_EQ(m1->version(), Version::kV1);
  EXPECT_NE(m1->path().find("/fake/cg/memory/minictr/c2"), std::string::npos);
  EXPECT_EQ(m1->cpu_usage_ns(), 0u);  // no cpuacct hierarchy
  EXPECT_THROW(make_manager("../x", v2), mctr::Error);
  EXPECT_THROW(make_manager("c1", HostLayout{}), mctr::Error);  // no hierarchy
}
