#!/usr/bin/env python3
"""Summarise hyperfine JSON exports of an A-vs-B benchmark.

    stats.py NAME_A NAME_B TARGET ROUND1.json [ROUND2.json ...]

Each JSON holds one hyperfine run with two commands (A first, B second).
Prints per-round mean/median of each, the ratios A/B, and the pooled figures
over all rounds; the spread of the per-round ratios says how noisy the host was.
"""
import json
import statistics
import sys


def main():
    name_a, name_b, target = sys.argv[1], sys.argv[2], float(sys.argv[3])
    files = sys.argv[4:]
    pooled = {0: [], 1: []}
    ratios_mean, ratios_median = [], []
    print(f"{'round':>5}  {name_a + ' mean/median (ms)':>28}  {name_b + ' mean/median (ms)':>28}  ratio(mean)  ratio(median)")
    for i, f in enumerate(files, 1):
        results = json.load(open(f))["results"]
        t = [[x * 1000 for x in r["times"]] for r in results]
        for k in (0, 1):
            pooled[k] += t[k]
        ma, mb = statistics.mean(t[0]), statistics.mean(t[1])
        da, db = statistics.median(t[0]), statistics.median(t[1])
        ratios_mean.append(ma / mb)
        ratios_median.append(da / db)
        print(f"{i:>5}  {ma:13.1f} / {da:8.1f}     {mb:13.1f} / {db:8.1f}     {ma / mb:9.3f}  {da / db:12.3f}")
    a, b = pooled[0], pooled[1]
    ma, mb = statistics.mean(a), statistics.mean(b)
    da, db = statistics.median(a), statistics.median(b)
    sa, sb = statistics.stdev(a), statistics.stdev(b)
    print(f"pooled over {len(files)} rounds ({len(a)} + {len(b)} runs):")
    print(f"  {name_a:<10} mean {ma:7.1f} ms  median {da:7.1f} ms  stdev {sa:6.1f}  min {min(a):6.1f}  max {max(a):7.1f}")
    print(f"  {name_b:<10} mean {mb:7.1f} ms  median {db:7.1f} ms  stdev {sb:6.1f}  min {min(b):6.1f}  max {max(b):7.1f}")
    spread = f" (per-round range {min(ratios_median):.3f}..{max(ratios_median):.3f})" if len(files) > 1 else ""
    print(f"  ratio {name_a}/{name_b}: mean {ma / mb:.3f}x  median {da / db:.3f}x{spread}  target <= {target}x  "
          f"-> {'MET' if da / db <= target else 'NOT MET'} (by median)")


if __name__ == "__main__":
    main()
