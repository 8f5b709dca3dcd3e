#!/usr/bin/env python3
"""Sample resource usage into a CSV until killed (SIGTERM/SIGINT).

  sample_stats.py --container ID [--container ID2 ...] --minictr build/runtime/minictr --csv stats.csv
      reads `minictr stats --format json ID...` streams (the kernel's cgroup and
      netdev counters, like `docker stats`; a tick a second from each stream,
      --streams of them (default 2) started half a second apart, so a sample every
      0.5 s from a fixed number of processes: a loaded host does not thin the
      samples out as it would starting a process per sample), and at each tick
      the RSS of each container's main process. With several containers (the
      replicas of a compose service) each column is their sum, and four columns
      per container follow: cpu_percent_<ID>, cgroup_mem_bytes_<ID>,
      net_rx_bytes_<ID>, net_tx_bytes_<ID> (as given on the command line)
  sample_stats.py --pid PID --csv stats.csv [--interval 0.5] [--nft-counters TABLE]
      a bare process: CPU from /proc/PID/stat, RSS from /proc/PID/status, and NET I/O
      from the counters rx and tx of the nftables table `inet TABLE` (common.sh's
      bare_net_count: the server port's packets on lo), read with `nft -j list counters`

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
  net_rx_bytes, net_tx_bytes  received and sent since the counters began: a
                container's veth(s); the bare process's nft counters (IP bytes,
                without the veth's Ethernet header); empty for a bare process
                without --nft-counters
  pids          threads of the bare process / pids.current of the container
  cgroup_mem_limit_bytes, cgroup_mem_percent  containers only: `stats`' LIMIT
                (the -m limit, or the host's RAM without one) and MEM %
  unix_s        the wall clock (time.time()) of the sample, to line it up with
                the latency test's requests (their start_unix)
Python 3 standard library only.
"""

import argparse
import csv
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time

TICK = os.sysconf("SC_CLK_TCK")
HEADER = ["t_s", "cpu_percent", "rss_bytes", "cgroup_mem_bytes", "net_rx_bytes", "net_tx_bytes", "pids",
          "cgroup_mem_limit_bytes", "cgroup_mem_percent", "unix_s"]
PER_CONTAINER = ["cpu_percent", "cgroup_mem_bytes", "net_rx_bytes", "net_tx_bytes"]


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
            # max: two streams' samples may arrive in the other order than they were taken
            pct = max(0.0, 100.0 * (cpu_ns - self.last[1]) / 1e9 / (wall - self.last[0]))
        self.last = (wall, cpu_ns)
        return round(pct, 2)


def inspect(args, ref, template):
    out = subprocess.run([args.minictr, "inspect", "-f", template, ref],
                         capture_output=True, text=True, timeout=10, check=True)
    return out.stdout.strip()


def read_stream(stream, ids, batches):
    """One `minictr stats` stream: one line per container per tick, handed on as one batch
    (a dict id -> sample) stamped with the time its first line arrived."""
    batch, t = {}, 0.0
    for line in stream.stdout:
        try:
            d = json.loads(line)
        except ValueError as e:
            print(f"sample_stats: {e}", file=sys.stderr)
            continue
        if not batch or d["Container"] in batch:  # a container missing from a tick: the next tick began
            if batch:
                batches.put((t, batch))
            batch, t = {}, time.monotonic()
        batch[d["Container"]] = d
        if len(batch) == len(ids):
            batches.put((t, batch))
            batch = {}


def sample_containers(args, writer, t0, t0_unix, stop):
    refs = args.container
    ids = [inspect(args, r, "{{.Id}}") for r in refs]
    pids = [int(inspect(args, r, "{{.State.Pid}}")) for r in refs]
    cpus = [CpuPercent() for _ in ids]
    batches = queue.Queue()
    streams = []

    def end():
        stop.wait()
        for s in list(streams):
            s.terminate()
        batches.put(None)

    threading.Thread(target=end, daemon=True).start()
    # `stats` prints a tick a second (plus the time a sample takes): STREAMS of them, started
    # 1/STREAMS s apart, give a sample every 1/STREAMS s, from a fixed number of processes.
    for k in range(args.streams):
        if k and stop.wait(1.0 / args.streams):
            break
        s = subprocess.Popen([args.minictr, "stats", "--format", "json", *ids], stdout=subprocess.PIPE, text=True)
        streams.append(s)
        threading.Thread(target=read_stream, args=(s, ids, batches), daemon=True).start()
    if stop.is_set():
        for s in streams:
            s.terminate()
    while (item := batches.get()) is not None:
        t, batch = item
        total = [0.0, 0, 0, 0, 0, 0, 0]  # cpu %, rss, mem, rx, tx, pids, limit
        per = []
        for k, cid in enumerate(ids):
            d = batch.get(cid)
            if d is None:
                per += ["", "", "", ""]
                continue
            try:
                rss, _ = proc_rss_threads(pids[k])
            except OSError:
                rss = 0
            pct = cpus[k](t, d["CPUUsageNs"])
            row = [pct, rss, d["MemUsageBytes"], d["NetRxBytes"], d["NetTxBytes"], d["PidsCurrent"],
                   d["MemLimitBytes"]]
            total = [a + b for a, b in zip(total, row)]
            per += [pct, d["MemUsageBytes"], d["NetRxBytes"], d["NetTxBytes"]]
        limit = total[6]
        writer([round(t - t0, 2), round(total[0], 2), *total[1:7],
                round(100.0 * total[2] / limit, 2) if limit else 0.0, round(t0_unix + t - t0, 3)]
               + (per if len(ids) > 1 else []))
    for s in streams:
        s.wait()


def nft_counters(table):
    """(rx bytes, tx bytes) of the named counters rx and tx of nftables table `inet TABLE`."""
    out = subprocess.run(["nft", "-j", "list", "counters", "table", "inet", table],
                         capture_output=True, text=True, timeout=10, check=True)
    got = {}
    for item in json.loads(out.stdout)["nftables"]:
        c = item.get("counter")
        if c and c.get("table") == table:
            got[c["name"]] = c["bytes"]
    return got["rx"], got["tx"]


def sample_process(args, writer, t0, t0_unix, stop):
    cpu = CpuPercent()
    while not stop.is_set():
        t = time.monotonic()
        try:
            used = proc_cpu_ns(args.pid)
            rss, threads = proc_rss_threads(args.pid)
        except OSError:
            return
        rx = tx = ""
        if args.nft_counters:
            try:
                rx, tx = nft_counters(args.nft_counters)
            except (subprocess.SubprocessError, KeyError, ValueError) as e:
                print(f"sample_stats: nft counters of {args.nft_counters}: {e}", file=sys.stderr)
        writer([round(t - t0, 2), cpu(t, used), rss, 0, rx, tx, threads, 0, 0.0, round(t0_unix + t - t0, 3)])
        stop.wait(max(0.0, args.interval - (time.monotonic() - t)))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    who = ap.add_mutually_exclusive_group(required=True)
    who.add_argument("--container", action="append", help="repeat for several: their sum, and columns each")
    who.add_argument("--pid", type=int)
    ap.add_argument("--minictr", default="minictr")
    ap.add_argument("--csv", required=True)
    ap.add_argument("--interval", type=float, default=0.5, help="bare process only (default 0.5 s)")
    ap.add_argument("--nft-counters", metavar="TABLE",
                    help="bare process only: NET I/O from the counters rx and tx of nftables table inet TABLE")
    ap.add_argument("--streams", type=int, default=2,
                    help="containers only: `stats` streams, started 1/N s apart (default 2: a sample every 0.5 s)")
    args = ap.parse_args()
    if args.streams < 1:
        ap.error("--streams must be at least 1")
    if args.nft_counters and not args.pid:
        ap.error("--nft-counters is for --pid (a container's NET I/O is its veth's)")
    if args.nft_counters:
        try:
            nft_counters(args.nft_counters)  # refuse a missing table now, not in every sample
        except (subprocess.SubprocessError, KeyError, ValueError) as e:
            ap.error(f"--nft-counters {args.nft_counters}: no counters rx and tx there ({e})")
    header = HEADER[:]
    if args.container and len(args.container) > 1:
        for c in args.container:
            header += [f"{col}_{c}" for col in PER_CONTAINER]

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    t0, t0_unix = time.monotonic(), time.time()
    with open(args.csv, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)

        def write(row):
            w.writerow(row)
            f.flush()

        (sample_containers if args.container else sample_process)(args, write, t0, t0_unix, stop)
    return 0


if __name__ == "__main__":
    sys.exit(main())
