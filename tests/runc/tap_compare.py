#!/usr/bin/env python3
"""Compare the runtime-tools TAP results of runc and minictr-runc.

Reads OUT/<runtime>/<test>/{tap,rc,calls,leftovers} as tests/runc/runtime-tools.sh
writes them, prints one row per test program (ok / not ok per runtime) and
every assertion runc passes that minictr-runc fails (or never reached), with
the runtime calls that failed. Exit status 1 when such an assertion is not in
the allow-list (tests/runc/known-gaps.txt: `test | assertion | reason`,
assertion `*` for a whole test program).
"""
import argparse
import collections
import os
import re
import sys

TAP_LINE = re.compile(r"^(not ok|ok)\b\s*(\d+)?\s*(?:-\s*)?(.*)$")


def normalize(desc):
    # Assertion texts that carry per-run values (temp dirs, container ids).
    desc = re.sub(r"/tmp/\S*?ocitest\d+", "<bundle>", desc)
    desc = re.sub(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "<uuid>", desc)
    return desc.strip()


def parse_tap(path):
    """-> OrderedDict assertion -> 'ok' | 'not ok' | 'skip' (top-level lines only:
    indented lines are YAML diagnostics of the enclosing TAP)."""
    results = collections.OrderedDict()
    seen = collections.Counter()
    try:
        lines = open(path, errors="replace").read().splitlines()
    except FileNotFoundError:
        return results
    for line in lines:
        m = TAP_LINE.match(line)
        if not m:
            continue
        status, _, desc = m.groups()
        directive = ""
        if " # " in desc or desc.startswith("# "):
            desc, _, directive = desc.partition("# ")
        if directive.upper().startswith("SKIP"):
            status = "skip"
        desc = normalize(desc) or "(no description)"
        seen[desc] += 1
        key = desc if seen[desc] == 1 else f"{desc} [#{seen[desc]}]"
        results[key] = status
    return results


def yaml_errors(path):
    """First lines of the "error" entries of YAML diagnostics: some programs
    (hooks, poststart, ...) report only there, with no ok/not ok."""
    return [m.group(1) for m in re.finditer(r'^\s+"error": "((?:[^"\\]|\\.)*?)(?:\\n|")', read(path), re.M)]


def exit_status_assertion(rc):
    """The program's exit status, as one more assertion: a program that runc
    runs to the end may not die (or time out) with minictr-runc."""
    return {"(the test program exits 0)": "ok" if rc == "0" else "not ok"}


def read(path, default=""):
    try:
        return open(path, errors="replace").read()
    except FileNotFoundError:
        return default


def load_known_gaps(path):
    gaps = {}
    for n, line in enumerate(read(path).splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = [p.strip() for p in line.split("|")]
        if len(parts) < 3 or not parts[2]:
            sys.exit(f"{path}:{n}: expected 'test | assertion | reason'")
        gaps[(parts[0], "|".join(parts[1:-1]).strip())] = parts[-1]
    return gaps


def regressions(a, res, rcs, gaps, t):
    """[(test, assertion, minictr's status, allow-list reason or None, gap key)]
    for each assertion of test t that runc passes and minictr-runc does not."""
    mine = dict(res["minictr"][t])
    theirs = dict(res["runc"][t])
    theirs.update(exit_status_assertion(rcs["runc"][t]))
    mine.update(exit_status_assertion(rcs["minictr"][t]))
    # A program with no TAP assertions (prestart, poststop_fail, ...) reports a
    # failure only as a YAML "error" diagnostic: no such diagnostic is a pass.
    if not any(v in ("ok", "not ok") for v in res["runc"][t].values()):
        for n, d in (("runc", theirs), ("minictr", mine)):
            d["(no error diagnostic)"] = "not ok" if yaml_errors(os.path.join(a.out, n, t, "tap")) else "ok"
    found = []
    for desc, status in theirs.items():
        if status != "ok" or mine.get(desc) == "ok":
            continue
        got = mine.get(desc, "missing (never reached)")
        key = (t, desc) if (t, desc) in gaps else (t, "*") if (t, "*") in gaps else None
        found.append((t, desc, got, gaps.get(key) if key else None, key))
    return found


def counts(res):
    c = collections.Counter(res.values())
    return c["ok"], c["not ok"], c["skip"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--known-gaps", required=True)
    ap.add_argument("--compare", action="store_true")
    ap.add_argument("--list-regressed", action="store_true",
                    help="only print the tests with an assertion runc passes, minictr-runc fails, not allowed")
    ap.add_argument("tests", nargs="+")
    a = ap.parse_args()
    if a.list_regressed:
        a.compare = True
    names = ["runc"] + (["minictr"] if a.compare else [])
    res = {n: {t: parse_tap(os.path.join(a.out, n, t, "tap")) for t in a.tests} for n in names}
    rcs = {n: {t: read(os.path.join(a.out, n, t, "rc"), "?").strip() for t in a.tests} for n in names}

    if a.list_regressed:
        gaps = load_known_gaps(a.known_gaps)
        for t in a.tests:
            if any(not f[3] for f in regressions(a, res, rcs, gaps, t)):
                print(t)
        return 0

    print()
    hdr = f"{'test':<38}" + "".join(f"{n + ' ok/not ok/skip (rc)':>34}" for n in names)
    print(hdr)
    print("-" * len(hdr))
    totals = {n: [0, 0, 0] for n in names}
    for t in a.tests:
        row = f"{t:<38}"
        for n in names:
            ok, nok, sk = counts(res[n][t])
            totals[n] = [totals[n][0] + ok, totals[n][1] + nok, totals[n][2] + sk]
            rc = rcs[n][t]
            rc_txt = "timeout" if rc in ("124", "137") else rc
            row += f"{f'{ok} / {nok} / {sk}  ({rc_txt})':>34}"
        print(row)
    print("-" * len(hdr))
    print(f"{'total':<38}" + "".join(f"{'%d / %d / %d' % tuple(totals[n]):>34}" for n in names))

    leftovers = [(n, t, read(os.path.join(a.out, n, t, "leftovers")).rstrip()) for n in names for t in a.tests]
    for n, t, text in leftovers:
        if text:
            print(f"\n{n} {t}: cleaned up after the test program\n{text}")

    if not a.compare:
        return 0

    gaps = load_known_gaps(a.known_gaps)
    failing = [f for t in a.tests for f in regressions(a, res, rcs, gaps, t)]
    used = {f[4] for f in failing if f[4]}
    retried = [t for t in a.tests if read(os.path.join(a.out, "minictr", t, "tries"), "1").strip() != "1"]
    allowed = [f for f in failing if f[3]]
    blocking = [f for f in failing if not f[3]]
    print(f"\nassertions runc passes and minictr-runc does not: {len(failing)} "
          f"({len(allowed)} in known-gaps.txt, {len(blocking)} not)")
    by_test = collections.OrderedDict()
    for f in failing:
        by_test.setdefault(f[0], []).append(f)
    for t, fs in by_test.items():
        tries = read(os.path.join(a.out, "minictr", t, "tries"), "1").strip()
        print(f"\n  {t} (minictr-runc rc {rcs['minictr'][t]}, run {tries} time(s)):")
        for reason in dict.fromkeys(f[3] for f in fs if f[3]):
            print(f"    known gap (known-gaps.txt): {reason}")
        for _, desc, got, reason, _ in fs:
            print(f"    {got:<8} {desc}{'  [known gap]' if reason else ''}")
        calls = [c for c in read(os.path.join(a.out, "minictr", t, "calls")).splitlines() if not c.startswith("0\t")]
        for c in calls[:5]:
            rc, _, argv = c.partition("\t")
            print(f"      failed call (rc {rc}): minictr-runc {argv}")
        if len(calls) > 5:
            print(f"      ... and {len(calls) - 5} more failed calls")
        diags = re.findall(r'^\s+"(error|stderr)": "((?:[^"\\]|\\.)*)"', read(os.path.join(a.out, "minictr", t, "tap")), re.M)
        for kind, text in list(dict.fromkeys(diags))[:4]:
            print(f"      TAP {kind}: {text[:240]}")
        err = read(os.path.join(a.out, "minictr", t, "stderr")).strip().splitlines()
        for line in err[:4]:
            print(f"      stderr: {line[:240]}")

    for t in retried:
        print(f"\nminictr-runc {t}: run {read(os.path.join(a.out, 'minictr', t, 'tries')).strip()} times "
              f"(it regressed on its first run; the last run counts)")
    stale = [k for k in gaps if k not in used and k[0] in a.tests]
    for t, desc in stale:
        print(f"\nknown-gaps.txt: '{t} | {desc}' is not needed any more (minictr-runc passes it, or runc does not): remove it")
    return 1 if blocking else 0


if __name__ == "__main__":
    sys.exit(main())
