#!/usr/bin/env python3
"""Name the functions of minictr that a recorded start ran, for the link's function order.

    text_order.py BINARY PERF_DATA ORDER_FILE
    text_order.py --check BINARY ORDER_FILE

Reads a `perf record -a -e cpu-clock:u -e exceptions:page_fault_user` of `minictr run`
(bench/run/order-text.sh), maps each user-space sample and each instruction-fetch page fault
that fell in minictr's code to the function it hit, and merges them into ORDER_FILE: the
functions already listed keep their place, new ones are appended. Within what it adds,
functions run by both the CLI and the supervisor come first, then the CLI's own, then the
supervisor's (and its init's), so each process touches as few 64 KB pieces of the code as
it can. Prints how many code page faults a run took and how many functions it added.

--check (tests/integration/test_start_path_order.sh): fails when more than 5 % of the list
names nothing in BINARY (renamed or removed since it was made: remake it), or when fewer
than 95 % of the rest lie within twice their total size from the start of the code (the link
did not apply the list; a function sharing an input section with an unlisted one, as in
glibc's archive, cannot move alone).
"""
import bisect
import re
import subprocess
import sys

INSTRUCTION_FETCH = 0x10  # x86 page-fault error code: the fault was an instruction fetch


def function_table(binary):
    """(start address, size, mangled name) of every function in BINARY, sorted by address."""
    out = subprocess.run(["nm", "-S", "--defined-only", binary], capture_output=True, text=True,
                         check=True).stdout
    table = []
    for line in out.splitlines():
        fields = line.split()
        if len(fields) == 4 and fields[2] in "tTwW":
            table.append((int(fields[0], 16), int(fields[1], 16), fields[3]))
    table.sort()
    return table


def read_order(order_file):
    with open(order_file) as f:
        return f.read().splitlines()


def listed_names(lines):
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def code_vaddr_minus_offset(binary):
    """The executable segment's virtual address minus its file offset (perf maps by offset)."""
    out = subprocess.run(["readelf", "-lW", binary], capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        f = line.split()
        if f and f[0] == "LOAD" and "E" in f[6:-1]:
            return int(f[2], 16) - int(f[1], 16)
    sys.exit(f"text_order: no executable segment in {binary}")


MMAP = re.compile(r"^\s*\S.*?\s+(\d+)\s+PERF_RECORD_MMAP2 \S+ \[(0x[0-9a-f]+)\((0x[0-9a-f]+)\) @ (\S+) .*\]: r-xp (\S+)")
FAULT = re.compile(r"ip=(0x[0-9a-f]+) error_code=(0x[0-9a-f]+)")


def functions_run(binary, perf_data):
    """(name -> set of roles, first-seen order, code faults per run) from one recording."""
    table = function_table(binary)
    starts = [a for a, _, _ in table]
    delta = code_vaddr_minus_offset(binary)
    script = subprocess.run(["perf", "script", "-i", perf_data, "--show-mmap-events", "-F", "comm,pid,event,ip,trace"],
                            capture_output=True, text=True, check=True).stdout
    # The CLI runs the binary by its path; the supervisor runs the read-only copy, whose
    # detached mount perf names "/". The init shares the supervisor's memory (no mmap of
    # its own), so a pid without a mapping belongs to the last supervisor seen.
    maps, last_supervisor = {}, None
    roles, order, faults, runs = {}, [], 0, 0
    for line in script.splitlines():
        m = MMAP.match(line)
        if m:
            pid, start, size, pgoff, path = m.groups()
            if path in (binary, "/"):
                role = "cli" if path == binary else "supervisor"
                maps[int(pid)] = (int(start, 16), int(size, 16), 0 if pgoff == "0" else int(pgoff, 16), role)
                runs += role == "cli"
                if role == "supervisor":
                    last_supervisor = maps[int(pid)]
            continue
        fields = line.split()
        if len(fields) < 4 or not fields[1].isdigit():
            continue
        if "page_fault_user" in line:
            f = FAULT.search(line)
            if not f or not int(f.group(2), 16) & INSTRUCTION_FETCH:
                continue
            ip = int(f.group(1), 16)
        elif "cpu-clock" in line:
            ip = int(fields[3], 16)
        else:
            continue
        mapping = maps.get(int(fields[1]), last_supervisor)
        if not mapping or not mapping[0] <= ip < mapping[0] + mapping[1]:
            continue
        i = bisect.bisect_right(starts, ip - mapping[0] + mapping[2] + delta) - 1
        if i < 0:
            continue
        name = table[i][2]
        faults += "page_fault_user" in line
        if name not in roles:
            roles[name] = set()
            order.append(name)
        roles[name].add(mapping[3])
    return roles, order, faults / max(runs, 1)


def check(binary, order_file):
    listed = listed_names(read_order(order_file))
    functions = {}
    for address, size, name in function_table(binary):
        functions.setdefault(name, (address, size))
    found = [functions[n] for n in listed if n in functions]
    missing = len(listed) - len(found)
    print(f"{len(listed)} functions listed, {missing} not in the binary")
    if missing > 0.05 * len(listed):
        sys.exit(f"FAIL: {missing} of the {len(listed)} functions in {order_file} are not in {binary}: "
                 "remake the list (bench/run/order-text.sh)")
    code_start = min(address for address, _ in functions.values())
    reach = 2 * sum(size for _, size in found)
    placed = sum(address - code_start < reach for address, _ in found)
    print(f"{placed} of them within the first {reach // 1024} KB of the code")
    if placed < 0.95 * len(found):
        sys.exit(f"FAIL: only {placed} of {len(found)} listed functions are at the start of the code: "
                 "the link did not apply the order")


def main():
    if sys.argv[1] == "--check":
        check(*sys.argv[2:4])
        return
    binary, perf_data, order_file = sys.argv[1:4]
    roles, seen, faults_per_run = functions_run(binary, perf_data)
    lines = read_order(order_file)
    listed = set(listed_names(lines))
    new = [n for n in seen if n not in listed]
    group = {frozenset({"cli", "supervisor"}): 0, frozenset({"cli"}): 1, frozenset({"supervisor"}): 2}
    new.sort(key=lambda n: group[frozenset(roles[n])])  # stable: first-seen order within a group
    with open(order_file, "w") as f:
        f.write("\n".join(lines + new) + "\n")
    print(f"{faults_per_run:.1f} page faults on minictr's code per run; {len(new)} functions added "
          f"({len(listed) + len(new)} listed)")


if __name__ == "__main__":
    main()
