#!/usr/bin/env python3
"""The report of a measuring script (compare.sh, homework.sh): one CSV, plots, a table.

  report.py OUT_DIR --stage bare="bare process" --stage run="minictr run" ... [--note TEXT]

reads, for each stage NAME, what common.sh's `measure` left in OUT_DIR:
  latency-NAME.csv   latency_test.py's rows, one per request
  stats-NAME.csv     sample_stats.py's samples (with unix_s, to find the test's window)
  summary.jsonl      latency_test.py's summaries, one line per stage (its --label)
  replicas-NAME.csv  optional: replica,requests,... (requests each replica served)
and writes
  latency.csv        all stages' rows in one CSV, a `stage` column first
  latency.png        latency of each request, in order
  latency-cdf.png    the latency distribution (CDF, log scale), one curve per stage
  latency-box.png    the same as box plots (box: p25-p75, line: median, whiskers 1.5 IQR)
  cpu.png            CPU % over time (100 = one CPU; a service's replicas summed)
  memory.png         RSS of the server process(es) over time (like with like for all stages)
  memory-cgroup.png  containers: `stats` MEM USAGE over time
  netio.png          NET I/O (rx and tx since the sampling began): `stats`' for containers (their
                     veths), the nft counters on lo for a bare process sampled with --nft-counters
  replicas-NAME.png  stages with several containers: CPU % and NET rx of each
  summary.md         the table below, also printed
The resource columns of the table are taken over the latency test's window (the first
request's start to the last one's end, found through the samples' unix_s), not the idle
seconds around it: mean and max CPU %, max RSS and MEM USAGE, NET rx/tx during the test.
Python 3 standard library + gnuplot.
"""

import argparse
import csv
import json
import os
import subprocess
import sys


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def f(row, key):
    v = row.get(key, "")
    return float(v) if v not in ("", None) else None


class Stage:
    def __init__(self, out, spec):
        self.name, _, title = spec.partition("=")
        self.title = title or self.name
        self.latency_csv = os.path.join(out, f"latency-{self.name}.csv")
        self.stats_csv = os.path.join(out, f"stats-{self.name}.csv")
        self.requests = read_csv(self.latency_csv)
        self.samples = read_csv(self.stats_csv)
        self.header = next(csv.reader(open(self.stats_csv)))
        self.container = any((f(s, "cgroup_mem_bytes") or 0) > 0 for s in self.samples)
        # NET I/O: a container's always; a bare process's when its traffic was counted
        # (sample_stats.py --nft-counters), else the columns are empty.
        self.net_samples = [s for s in self.samples if f(s, "net_rx_bytes") is not None]
        self.replicas = [c[len("cpu_percent_"):] for c in self.header if c.startswith("cpu_percent_")]
        replicas_csv = os.path.join(out, f"replicas-{self.name}.csv")
        self.served = read_csv(replicas_csv) if os.path.exists(replicas_csv) else []

    def col(self, name):
        """gnuplot's 1-based column number of a stats column."""
        return self.header.index(name) + 1

    def window(self):
        """The samples that cover the latency test: from the last one taken before the first
        request to the first one taken after the last request ended."""
        start = min(float(r["start_unix"]) for r in self.requests)
        end = max(float(r["start_unix"]) + float(r["latency_ms"]) / 1000 for r in self.requests)
        ts = [f(s, "unix_s") for s in self.samples]
        first = max([i for i, t in enumerate(ts) if t <= start], default=0)
        last = min([i for i, t in enumerate(ts) if t >= end], default=len(ts) - 1)
        return self.samples[first:last + 1]


def resources(stage):
    w = stage.window()
    if not w:
        return {}
    # A sample's CPU % is the CPU used since the sample before: the window's first sample
    # describes the time before the test.
    cpu = [f(s, "cpu_percent") for s in w[1:]] or [f(w[0], "cpu_percent")]
    ts = [f(s, "unix_s") for s in stage.samples]
    gaps = [b - a for a, b in zip(ts, ts[1:])]
    r = {
        "cpu_mean": sum(cpu) / len(cpu),
        "cpu_max": max(cpu),
        "rss_max": max(f(s, "rss_bytes") for s in w),
        "samples": len(stage.samples),
        "gap_max": max(gaps, default=0.0),
    }
    if stage.container:
        r["mem_max"] = max(f(s, "cgroup_mem_bytes") for s in w)
    wn = [s for s in w if f(s, "net_rx_bytes") is not None]
    if wn:
        r["rx"] = f(wn[-1], "net_rx_bytes") - f(wn[0], "net_rx_bytes")
        r["tx"] = f(wn[-1], "net_tx_bytes") - f(wn[0], "net_tx_bytes")
    return r


def write_combined(out, stages):
    path = os.path.join(out, "latency.csv")
    fields = ["stage"] + list(stages[0].requests[0].keys())
    with open(path, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=fields)
        w.writeheader()
        for st in stages:
            for r in st.requests:
                w.writerow({"stage": st.name, **r})
    return path


def gnuplot_script(out, stages, note):
    q = lambda s: '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'
    lines = [
        'set terminal pngcairo size 900,500 font "sans,10" noenhanced',
        'set datafile separator ","',
        "set key top left",
        "set grid",
    ]

    def plot(png, title, xlabel, ylabel, curves, extra=()):
        if not curves:
            return
        lines.extend([f"set output {q(os.path.join(out, png))}", f"set title {q(title)}",
                      f"set xlabel {q(xlabel)}", f"set ylabel {q(ylabel)}", *extra])
        lines.append("plot " + ", \\\n     ".join(curves))
        lines.extend(["unset logscale", "set autoscale", "set xtics autofreq"])

    lat = 4  # latency_ms in latency_test.py's CSV
    ok = 10  # ok
    plot("latency.png", f"Request latency ({note})", "request #", "latency (ms)",
         [f"{q(s.latency_csv)} using 1:{lat} every ::1 with linespoints pt 7 ps 0.4 {s.lc} title {q(s.title)}" for s in stages])
    plot("latency-cdf.png", f"Latency distribution ({note})", "latency (ms, log scale)", "fraction of requests",
         [f"{q(s.latency_csv)} using (${ok} == 1 ? ${lat} : NaN):(1.0/{max(1, len(s.requests))}) every ::1 "
          f"smooth cumulative with lines lw 2 {s.lc} title {q(s.title)}" for s in stages],
         ["set logscale x", "set key bottom right", "set yrange [0:1]"])
    lines.append("set key top left")
    xt = ", ".join(f"{q(s.title)} {k + 1}" for k, s in enumerate(stages))
    plot("latency-box.png", f"Latency distribution ({note})", "", "latency (ms, log scale)",
         [f"{q(s.latency_csv)} using ({k + 1}):(${ok} == 1 ? ${lat} : NaN) every ::1 with boxplot {s.lc} notitle"
          for k, s in enumerate(stages)],
         ["set logscale y", "set style fill solid 0.3", "set style boxplot outliers pointtype 7",
          "set pointsize 0.4", f"set xtics ({xt})", f"set xrange [0.5:{len(stages) + 0.5}]"])
    plot("cpu.png", "CPU time used / wall time (100% = one CPU): the server process, its cgroup, or the "
         "replicas' cgroups summed", "time since sampling began (s)", "CPU %",
         [f"{q(s.stats_csv)} using 1:{s.col('cpu_percent')} every ::1 with lines lw 2 {s.lc} title {q(s.title)}"
          for s in stages])
    plot("memory.png", "RSS of the server process(es) (VmRSS: anonymous memory + the model pages touched)",
         "time since sampling began (s)", "MiB",
         [f"{q(s.stats_csv)} using 1:(${s.col('rss_bytes')}/1048576) every ::1 with lines lw 2 {s.lc} "
          f"title {q(s.title)}" for s in stages])
    cs = [s for s in stages if s.container]
    plot("memory-cgroup.png", "Containers: cgroup memory minus inactive_file (stats MEM USAGE; replicas summed)",
         "time since sampling began (s)", "MiB",
         [f"{q(s.stats_csv)} using 1:(${s.col('cgroup_mem_bytes')}/1048576) every ::1 with lines lw 2 "
          f"{s.lc} title {q(s.title)}" for s in cs])
    net = []
    for s in stages:
        if not s.net_samples:
            continue
        first = s.net_samples[0]
        for d in ("rx", "tx"):
            c = s.col(f"net_{d}_bytes")
            net.append(f"{q(s.stats_csv)} using 1:((${c}-{first[f'net_{d}_bytes']})/1000) every ::1 with lines "
                       f"lw 2 {s.lc} {'dt 2 ' if d == 'tx' else ''}title {q(s.title + ' ' + d)}")
    plot("netio.png", "Network I/O since sampling began: containers' veths (stats NET I/O), the bare "
         "process's nft counters on lo",
         "time since sampling began (s)", "kB", net)
    for s in stages:
        if not s.replicas:
            continue
        lines.extend([f"set output {q(os.path.join(out, f'replicas-{s.name}.png'))}",
                      "set terminal pngcairo size 900,700 font \"sans,10\" noenhanced",
                      f"set multiplot layout 2,1 title {q(s.title + ': each replica')}",
                      "set title 'CPU %'", "set xlabel ''", "set ylabel 'CPU %'",
                      "plot " + ", ".join(f"{q(s.stats_csv)} using 1:{s.col('cpu_percent_' + r)} every ::1 "
                                          f"with lines lw 2 title {q(r)}" for r in s.replicas),
                      "set title 'NET rx since sampling began'", "set xlabel 'time since sampling began (s)'",
                      "set ylabel 'kB'",
                      "plot " + ", ".join(f"{q(s.stats_csv)} using 1:((${s.col('net_rx_bytes_' + r)}-"
                                          f"{s.samples[0]['net_rx_bytes_' + r] or 0})/1000) every ::1 "
                                          f"with lines lw 2 title {q(r)}" for r in s.replicas),
                      "unset multiplot",
                      'set terminal pngcairo size 900,500 font "sans,10" noenhanced'])
    return "\n".join(lines) + "\n"


def summary_md(stages, summaries, note):
    base = summaries.get(stages[0].name, {}).get("p50_ms")
    head = ["stage", "requests ok", "p50 ms", "p95 ms", "p99 ms", "mean ms", "tokens/s", f"p50 vs {stages[0].name}",
            "CPU % mean", "CPU % max", "max RSS MiB", "max MEM USAGE MiB", "NET rx kB", "NET tx kB",
            "samples (max gap s)"]
    out = [f"Latency test: {note}. Resource columns: during the test (100 % CPU = one CPU; "
           "RSS = the server process(es); MEM USAGE = `minictr stats`, containers only; NET I/O = `minictr "
           "stats` (the veths) for containers, an nftables counter on lo of the server's port for the bare "
           "process (IP bytes, without the 14-byte Ethernet header a veth counts)).", "",
           "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for s in stages:
        m = summaries.get(s.name, {})
        r = resources(s)
        mib = lambda v: f"{v / 1048576:.1f}" if v is not None else "–"
        kb = lambda v: f"{v / 1000:.1f}" if v is not None else "–"
        cells = [s.title, f"{m.get('ok', '?')}/{m.get('requests', '?')}"]
        cells += [f"{m[k]:.1f}" if k in m else "?" for k in ("p50_ms", "p95_ms", "p99_ms", "mean_ms", "tokens_per_s")]
        cells.append(f"{100 * (m['p50_ms'] / base - 1):+.0f} %" if base and "p50_ms" in m else "–")
        cells += [f"{r.get('cpu_mean', 0):.1f}", f"{r.get('cpu_max', 0):.1f}", mib(r.get("rss_max")),
                  mib(r.get("mem_max")), kb(r.get("rx")), kb(r.get("tx")),
                  f"{r.get('samples', 0)} ({r.get('gap_max', 0):.2f})"]
        out.append("| " + " | ".join(cells) + " |")
    for s in stages:
        if s.served:
            out += ["", f"{s.title}: completion requests each replica served during the test "
                    "(its /metrics requests_total, after minus before; the latency test's warm-up requests "
                    "included):", "", "| " + " | ".join(s.served[0].keys()) + " |",
                    "|" + "---|" * len(s.served[0])]
            out += ["| " + " | ".join(row.values()) + " |" for row in s.served]
    return "\n".join(out) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out")
    ap.add_argument("--stage", action="append", required=True, help="NAME=TITLE, in the order to show them")
    ap.add_argument("--note", default="", help="what the latency test was (plot titles, table)")
    ap.add_argument("--no-plots", action="store_true")
    args = ap.parse_args()
    stages = [Stage(args.out, s) for s in args.stage]
    for k, st in enumerate(stages):
        st.lc = f"lc {k + 1}"  # one colour per stage in every plot
    summaries = {}
    with open(os.path.join(args.out, "summary.jsonl")) as fh:
        for line in fh:
            d = json.loads(line)
            summaries[d["label"]] = d
    write_combined(args.out, stages)
    if not args.no_plots:
        script = gnuplot_script(args.out, stages, args.note)
        with open(os.path.join(args.out, "plots.gp"), "w") as fh:
            fh.write(script)
        subprocess.run(["gnuplot", os.path.join(args.out, "plots.gp")], check=True)
    md = summary_md(stages, summaries, args.note)
    with open(os.path.join(args.out, "summary.md"), "w") as fh:
        fh.write(md)
    sys.stdout.write(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
