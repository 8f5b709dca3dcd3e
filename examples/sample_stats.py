#!/usr/bin/env python3
"""Sample resource usage once a second into a CSV, until killed (SIGTERM/SIGINT).

  sample_stats.py --container ID --minictr build/runtime/minictr --csv stats.csv
      runs `minictr stats --no-stream --format json ID` every second (the kernel's
      cgroup and netdev counters, like `docker stats`)
  sample_stats.py --pid PID --csv stats.csv
      a bare process: CPU from /proc/PID/stat, memory (RSS) from /proc/PID/status

Columns: t_s (since start), cpu_percent (100 = one CPU), mem_bytes, net_rx_bytes,
net_tx_bytes, pids. Python 3 standard library only.
"""

import argparse
import csv
import json
import os
import signal
import subprocess
import sys
import time

TICK = os.sysconf("SC_CLK_TCK")


def minictr_sample(args):
    out = subprocess.run([args.minictr, "stats", "--no-stream", "--format", "json", args.container],
                         capture_output=True, text=True, timeout=10)
    if out.returncode != 0:
        return None
    text = out.stdout.strip()
    d = json.loads(text) if text.startswith("[") else json.loads(text.splitlines()[0])
    d = d[0] if isinstance(d, list) else d
    return (d["CPUPercent"], d["MemUsageBytes"], d["NetRxBytes"], d["NetTxBytes"], d["PidsCurrent"])


class ProcSampler:
    def __init__(self, pid):
        self.pid = pid
        self.last = None

    def cpu_ticks(self):
        with open(f"/proc/{self.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])  # utime + stime

    def __call__(self, args):
        try:
            now = (time.monotonic(), self.cpu_ticks())
            rss = threads = 0
            with open(f"/proc/{self.pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        rss = int(line.split()[1]) * 1024
                    elif line.startswith("Threads:"):
                        threads = int(line.split()[1])
        except OSError:
            return None
        cpu = 0.0
        if self.last:
            dt = now[0] - self.last[0]
            cpu = 100.0 * (now[1] - self.last[1]) / TICK / dt if dt > 0 else 0.0
        self.last = now
        return (round(cpu, 2), rss, 0, 0, threads)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    who = ap.add_mutually_exclusive_group(required=True)
    who.add_argument("--container")
    who.add_argument("--pid", type=int)
    ap.add_argument("--minictr", default="minictr")
    ap.add_argument("--csv", required=True)
    ap.add_argument("--interval", type=float, default=1.0)
    args = ap.parse_args()

    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))
    sample = minictr_sample if args.container else ProcSampler(args.pid)
    t0 = time.monotonic()
    with open(args.csv, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["t_s", "cpu_percent", "mem_bytes", "net_rx_bytes", "net_tx_bytes", "pids"])
        while not stop:
            t = time.monotonic()
            try:
                row = sample(args)
            except (subprocess.SubprocessError, ValueError, KeyError) as e:
                print(f"sample_stats: {e}", file=sys.stderr)
                row = None
            if row:
                w.writerow([round(t - t0, 2), *row])
                f.flush()
            time.sleep(max(0.0, args.interval - (time.monotonic() - t)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
