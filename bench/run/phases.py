#!/usr/bin/env python3
"""Turn an `strace -f -ttt` trace of `minictr run` into a coarse phase timeline.

    phases.py TRACE.txt                 one run, every milestone
    phases.py --summary TRACE.txt ...  median/mean of fixed phases over many runs

Prints one line per milestone (process starts, image/state files, cgroup,
clone of the init, mounts, pivot_root, seccomp, execve of the command, exit,
teardown) with its time since the CLI's execve, and the gap from the previous
milestone, so the expensive phases stand out. Used by bench/run/profile.sh.
"""
import re
import sys

MILESTONES = [
    (r'execve\("(/[^"]*)"', lambda m: f"execve {m.group(1).rsplit('/', 1)[-1]}"),
    (r'openat\(.*"(.*/images/[^"]*)"', lambda m: f"image: open {m.group(1).rsplit('/images/', 1)[1][:40]}"),
    (r'openat\(.*"(.*/(?:config|state)\.json)', lambda m: f"state: open {m.group(1).rsplit('/', 1)[1]}"),
    (r'fsync\(', lambda m: "fsync"),
    (r'clone\(.*flags=([A-Z_|]*)', lambda m: "clone " + ("(namespaces)" if "NEW" in m.group(1) else "(fork)")),
    (r'clone3\(', lambda m: "clone3"),
    (r'mkdir\("/sys/fs/cgroup/([^/"]*)/[^"]*/', lambda m: f"cgroup mkdir {m.group(1)}"),
    (r'rmdir\("/sys/fs/cgroup/([^/"]*)/', lambda m: f"cgroup rmdir {m.group(1)}"),
    (r'unshare\(', lambda m: "unshare"),
    (r'mount\("([^"]*)", "([^"]*)", "([^"]*)"', lambda m: f"mount {m.group(3)}"),
    (r'pivot_root', lambda m: "pivot_root"),
    (r'seccomp\(SECCOMP_SET_MODE_FILTER', lambda m: "seccomp filter"),
    (r'exit_group', lambda m: "exit_group"),
    (r'sendto\(\d+, "([a-z]+)', lambda m: f"send {m.group(1)}"),
    (r'umount2', lambda m: "umount2"),
]


def main():
    lines = open(sys.argv[1]).read().splitlines()
    t0 = None
    prev = None
    pids = {}
    for line in lines:
        parts = line.split(None, 2)
        if len(parts) < 3 or "resumed>" in parts[2][:20]:
            continue
        pid, ts, rest = parts[0], float(parts[1]), parts[2]
        if t0 is None:
            t0 = prev = ts
        for pat, name in MILESTONES:
            m = re.search(pat, rest)
            if m:
                pids.setdefault(pid, f"p{len(pids)}")
                print(f"{(ts - t0) * 1000:8.1f} ms  +{(ts - prev) * 1000:7.1f}  {pids[pid]:>3}  {name(m)}")
                prev = ts
                break


def phase_summary(path):
    """Return {phase: ms} for the fixed phases of one traced `minictr run`."""
    ev = []  # (t, pid, what)
    for line in open(path).read().splitlines():
        parts = line.split(None, 2)
        if len(parts) < 3 or "resumed>" in parts[2][:20]:
            continue
        ev.append((float(parts[1]), parts[0], parts[2]))
    t0, cli = ev[0][0], ev[0][1]

    def first(pred, after=0.0):
        for t, pid, s in ev:
            if t >= after and pred(pid, s):
                return t
        return None

    fork1 = first(lambda p, s: p == cli and s.startswith("clone("))
    sup_pid = None
    sup_start = None
    for t, pid, s in ev:  # the supervisor: the process that clones with namespaces
        if s.startswith("clone(") and "CLONE_NEWPID" in s:
            sup_pid = pid
            break
    sup_start = first(lambda p, s: p == sup_pid)
    ns_clone = first(lambda p, s: p == sup_pid and "CLONE_NEWPID" in s)
    go = first(lambda p, s: p == sup_pid and 'sendto(' in s and '"go"' in s)
    exec_cmd = first(lambda p, s: p not in (cli, sup_pid) and s.startswith("execve("), go or 0)
    init_exit = first(lambda p, s: p not in (cli, sup_pid) and s.startswith("exit_group"), exec_cmd or 0)
    exited = first(lambda p, s: p == sup_pid and '"exited' in s)
    cli_exit = first(lambda p, s: p == cli and s.startswith("exit_group"))
    sup_exit = first(lambda p, s: p == sup_pid and s.startswith("exit_group"), exited or 0)
    marks = [("cli: parse, image resolve, create state", t0, fork1),
             ("double fork -> supervisor running", fork1, sup_start),
             ("supervisor: read config, etc files, cgroup create", sup_start, ns_clone),
             ("clone(NEW*) -> go (cgroup join, state)", ns_clone, go),
             ("init: mounts, pivot, masks, caps, seccomp -> execve", go, exec_cmd),
             ("command runs (busybox true)", exec_cmd, init_exit),
             ("teardown: reap, cgroup destroy, state -> exited msg", init_exit, exited),
             ("cli wakes and exits", exited, cli_exit),
             ("TOTAL start-to-exit (cli)", t0, cli_exit),
             ("(background) supervisor --rm cleanup after exited", exited, sup_exit)]
    return {name: (b - a) * 1000 if a is not None and b is not None else float("nan") for name, a, b in marks}


if __name__ == "__main__" and len(sys.argv) > 2 and sys.argv[1] == "--summary":
    import statistics
    rows = [phase_summary(p) for p in sys.argv[2:]]
    print(f"{'phase':<55} {'median ms':>10} {'mean ms':>9}   (over {len(rows)} traced runs)")
    for k in rows[0]:
        v = [r[k] for r in rows if r[k] == r[k]]
        if v:
            print(f"{k:<55} {statistics.median(v):10.1f} {statistics.mean(v):9.1f}")
elif __name__ == "__main__":
    main()
