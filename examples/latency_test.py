#!/usr/bin/env python3
"""Latency test for minictr-infer (or any llama.cpp-compatible server).

Sends N prompts to http://HOST:PORT/completion, one after another (or with
--concurrency C at the same time), and prints p50/p95/p99 latency and tokens/s.
Every request is written as one CSV row. Python 3 standard library only.

  examples/latency_test.py --port 8080 -n 20 --n-predict 32 --csv latency.csv

Use --temperature 0 (the default) and a fixed --n-predict and --seed so two runs
do exactly the same work and only the environment (bare process, container,
CPU limit) differs.
"""

import argparse
import csv
import http.client
import json
import socket
import statistics
import sys
import threading
import time
import urllib.error
import urllib.request

PROMPTS = [
    "Once upon a time",
    "The container said",
    "A wise engineer once",
    "In the kernel there lived",
    "The cgroup whispered",
    "Today you will",
    "Fortune favors",
    "Never trust a",
]


def percentile(values, p):
    """Linear interpolation between closest ranks (like numpy's default)."""
    if not values:
        return float("nan")
    s = sorted(values)
    k = (len(s) - 1) * p / 100.0
    lo = int(k)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def post_json(host, port, path, body, timeout):
    """POST one JSON request on a fresh connection (like curl) and return the JSON answer.

    TCP_NODELAY matters: http.client writes the headers and the body with two send()
    calls; with Nagle on, the body waits for the server's delayed ACK (~40 ms on
    Linux), which would swamp the few milliseconds the model needs."""
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.connect()
        conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conn.request("POST", path, json.dumps(body).encode(), {"Content-Type": "application/json"})
        resp = conn.getresponse()
        data = resp.read()
        if resp.status != 200:
            raise ValueError(f"HTTP {resp.status}: {data[:200]!r}")
        return json.loads(data)
    finally:
        conn.close()


def wait_healthy(base, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(base + "/health", timeout=2) as resp:
                if resp.status == 200:
                    return True
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.2)
    return False


def one_request(args, i, prompt):
    body = {
        "prompt": prompt,
        "n_predict": args.n_predict,
        "temperature": args.temperature,
        "seed": args.seed,
    }
    t0 = time.perf_counter()
    start = time.time()
    try:
        r = post_json(args.host, args.port, "/completion", body, args.timeout)
        ms = (time.perf_counter() - t0) * 1000.0
        t = r.get("timings", {})
        return {
            "i": i,
            "start_unix": f"{start:.3f}",
            "prompt": prompt,
            "latency_ms": round(ms, 3),
            "tokens_predicted": r.get("tokens_predicted", 0),
            "tokens_evaluated": r.get("tokens_evaluated", 0),
            "prompt_ms": round(t.get("prompt_ms", 0.0), 3),
            "predicted_ms": round(t.get("predicted_ms", 0.0), 3),
            "server_tokens_per_s": round(t.get("predicted_per_second", 0.0), 3),
            "ok": 1,
            "error": "",
        }
    except (http.client.HTTPException, OSError, ValueError) as e:
        ms = (time.perf_counter() - t0) * 1000.0
        return {"i": i, "start_unix": f"{start:.3f}", "prompt": prompt, "latency_ms": round(ms, 3),
                "tokens_predicted": 0, "tokens_evaluated": 0, "prompt_ms": 0, "predicted_ms": 0,
                "server_tokens_per_s": 0, "ok": 0, "error": str(e)[:200]}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8080)
    ap.add_argument("-n", "--requests", type=int, default=20, help="number of requests (default 20)")
    ap.add_argument("--n-predict", type=int, default=32, help="tokens to generate per request (default 32)")
    ap.add_argument("--temperature", type=float, default=0.0, help="0 = greedy, deterministic (default)")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--warmup", type=int, default=2, help="requests sent first and not counted (default 2)")
    ap.add_argument("--concurrency", type=int, default=1, help="requests in flight at once (default 1)")
    ap.add_argument("--min-seconds", type=float, default=0.0,
                    help="after -n requests, keep sending until this much wall time has passed (default 0)")
    ap.add_argument("--prompt", action="append", help="prompt (repeat); default: a built-in list")
    ap.add_argument("--timeout", type=float, default=120.0, help="seconds per request")
    ap.add_argument("--wait", type=float, default=60.0, help="seconds to wait for /health first")
    ap.add_argument("--csv", help="write one row per request here")
    ap.add_argument("--label", default="", help="name printed with the summary (and put in --summary)")
    ap.add_argument("--summary", help="append the summary as one JSON line to this file")
    args = ap.parse_args()

    base = f"http://{args.host}:{args.port}"
    prompts = args.prompt or PROMPTS
    if not wait_healthy(base, args.wait):
        sys.exit(f"latency_test: {base}/health did not answer 200 within {args.wait:.0f} s")

    for w in range(args.warmup):
        one_request(args, -1, prompts[w % len(prompts)])

    rows = {}
    next_i = [0]
    lock = threading.Lock()
    t0 = time.perf_counter()

    def worker():
        while True:
            with lock:
                i = next_i[0]
                if i >= args.requests and time.perf_counter() - t0 >= args.min_seconds:
                    return
                next_i[0] += 1
            row = one_request(args, i, prompts[i % len(prompts)])
            with lock:
                rows[i] = row

    threads = [threading.Thread(target=worker) for _ in range(max(1, args.concurrency))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    rows = [rows[i] for i in sorted(rows)]
    args.requests = len(rows)

    ok = [r for r in rows if r["ok"]]
    lat = [r["latency_ms"] for r in ok]
    tokens = sum(r["tokens_predicted"] for r in ok)
    summary = {
        "label": args.label,
        "requests": args.requests,
        "ok": len(ok),
        "errors": args.requests - len(ok),
        "n_predict": args.n_predict,
        "concurrency": args.concurrency,
        "p50_ms": round(percentile(lat, 50), 2),
        "p95_ms": round(percentile(lat, 95), 2),
        "p99_ms": round(percentile(lat, 99), 2),
        "mean_ms": round(statistics.fmean(lat), 2) if lat else float("nan"),
        "stdev_ms": round(statistics.stdev(lat), 2) if len(lat) > 1 else 0.0,
        "tokens": tokens,
        "wall_s": round(wall, 3),
        "tokens_per_s": round(tokens / wall, 2) if wall > 0 else 0.0,
        "server_tokens_per_s_median": round(statistics.median([r["server_tokens_per_s"] for r in ok]), 2) if ok else 0.0,
    }

    if args.csv:
        with open(args.csv, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=list(rows[0].keys()))
            w.writeheader()
            w.writerows(rows)
    if args.summary:
        with open(args.summary, "a") as f:
            f.write(json.dumps(summary) + "\n")

    name = f"[{args.label}] " if args.label else ""
    print(f"{name}{len(ok)}/{args.requests} ok, n_predict={args.n_predict}, concurrency={args.concurrency}")
    print(f"{name}latency ms: p50 {summary['p50_ms']:.1f}  p95 {summary['p95_ms']:.1f}  "
          f"p99 {summary['p99_ms']:.1f}  mean {summary['mean_ms']:.1f} (sd {summary['stdev_ms']:.1f})")
    print(f"{name}throughput: {summary['tokens_per_s']:.1f} tokens/s over {wall:.1f} s "
          f"(server-side decode median {summary['server_tokens_per_s_median']:.1f} tokens/s)")
    if args.csv:
        print(f"{name}per-request rows: {args.csv}")
    return 0 if not summary["errors"] else 1


if __name__ == "__main__":
    sys.exit(main())
