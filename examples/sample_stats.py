#!/usr/bin/env python3
"""Sample resource usage into a CSV until killed (SIGTERM/SIGINT).

  sample_stats.py --container ID --minictr build/runtime/minictr --csv stats.csv
      reads one `minictr stats --format json ID` stream (the kernel's cgroup and
      netdev counters, like `docker stats`; one line a second from one process,
      so a loaded host does not thin the samples out by starting a process per
      sample), and at each line the RSS of the container's main process
  sample_stats.py --pid PID --csv stats.csv [--interval 0.5]
      a bare process: CPU from /proc/PID/stat, RSS from /proc/PID/status

Columns:
  t_s           seconds since the start
  cpu_percent   100 = one CPU, from the CPU time used between two samples over
                the wall time between them: the same formula for both kinds
                (the container's CPU time is its cgroup's, all its processes)
  rss_bytes     VmRSS of the server process (the bare one, or the container's
                PID 1): anonymous memory + the pages of the mmapped model it
                touched; the same measure for both, for comparing like with like
  cgroup_mem_bytes  containers only (0 for bare): `docker stats` MEM USAGE, the
                cgroup's memory.current (v1 usage_in_bytes) minus inactive_file:
                every process of the container plus page cache charged to it
  net_rx_bytes, net_tx_bytes  containers only (the veth's counters)
  pids          threads of the bare process / pids.current of the container
  cgroup_mem_limit_bytes, cgroup_mem_percent  containers only: `stats`' LIMIT
                (the -m limit, or the host's RAM without one) and MEM %
Python 3 standard library only.
"""

import argparse
import csv
import json
import os
import signal
import subprocess
import sys
import threading
import time

TICK = os.sysconf("SC_CLK_TCK")
HEADER = ["t_s", "cpu_percent", "rss_bytes", "cgroup_mem_bytes", "net_rx_bytes", "net_tx_bytes", "pids",
          "cgroup_mem_limit_bytes", "cgroup_mem_percent"]


def proc_rss_threads(pid):
    rss = threads = 0
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1]) * 1024
            elif line.startswith("Threads:"):
                threads = int(line.split()[1])
    return rss, threads


def proc_cpu_ns(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1_000_000_000 // TICK  # utime + stime


class CpuPercent:
    """100 * CPU time used / wall time, between two calls."""

    def __init__(self):
        self.last = None

    def __call__(self, wall, cpu_ns):
        pct = 0.0
        if self.last and wall > self.last[0]:
            pct = 100.0 * (cpu_ns - self.last[1]) / 1e9 / (wall - self.last[0])
        self.last = (wall, cpu_ns)
        return round(pct, 2)


def container_pid(args):
    out = subprocess.run([args.minictr, "inspect", "-f", "{{.State.Pid}}", args.container],
                         capture_output=True, text=True, timeout=10, check=True)
    return int(out.stdout.strip())


def sample_container(args, writer, t0, stop):
    pid = container_pid(args)
    cpu = CpuPercent()
    stream = subprocess.Popen([args.minictr, "stats", "--format", "json", args.container],
                              stdout=subprocess.PIPE, text=True)
    # A blocking read would not notice SIGTERM: a thread watches for it.
    threading.Thread(target=lambda: (stop.wait(), stream.terminate()), daemon=True).start()
    for line in stream.stdout:
        t = time.monotonic()
        try:
            d = json.loads(line)
            rss, _ = proc_rss_threads(pid)
        except (ValueError, OSError) as e:
            print(f"sample_stats: {e}", file=sys.stderr)
            continue
        limit = d["MemLimitBytes"]
        writer([round(t - t0, 2), cpu(t, d["CPUUsageNs"]), rss, d["MemUsageBytes"], d["NetRxBytes"],
                d["NetTxBytes"], d["PidsCurrent"], limit,
                round(100.0 * d["MemUsageBytes"] / limit, 2) if limit else 0.0])
    stream.wait()


def sample_process(args, writer, t0, stop):
    cpu = CpuPercent()
    while not stop.is_set():
        t = time.monotonic()
        try:
            used = proc_cpu_ns(args.pid)
            rss, threads = proc_rss_threads(args.pid)
        except OSError:
            return
        writer([round(t - t0, 2), cpu(t, used), rss, 0, 0, 0, threads, 0, 0.0])
        stop.wait(max(0.0, args.interval - (time.monotonic() - t)))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    who = ap.add_mutually_exclusive_group(required=True)
    who.add_argument("--container")
    who.add_argument("--pid", type=int)
    ap.add_argument("--minictr", default="minictr")
    ap.add_argument("--csv", required=True)
    ap.add_argument("--interval", type=float, default=0.5, help="bare process only (containers: 1 s, minictr stats)")
    args = ap.parse_args()

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    t0 = time.monotonic()
    with open(args.csv, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(HEADER)

        def write(row):
            w.writerow(row)
            f.flush()

        (sample_container if args.container else sample_process)(args, write, t0, stop)
    return 0


if __name__ == "__main__":
    sys.exit(main())
