#!/usr/bin/env python3
"""`vadshim bench locks`: what the lock validator costs.

usage: bench_locks.py --bench-locks BIN --bench-mman BIN --lib LIB [--rounds N] [--json FILE]

1. The fast path, from bench_locks (linked with the core): ns per
   lk_lock+lk_unlock of a lock whose order is already known, with 0 and 1
   other locks held, for lockdep=0, lockdep=1 (default: caller and entry
   PCs only), lockdep=1 held_stacks=1 (a full unwind per acquisition) and
   lockstat=1.
2. The mman benchmark (bench_mman, all operations, 1000 live mappings)
   under LD_PRELOAD=libvadshim.so with VADSHIM_OPTIONS=lockdep=0 and
   lockdep=1, in alternating rounds of the same run; the ratio per
   operation (target <= 1.05).
3. The validator's memory after 1 000 000 acquisitions of 1 000 distinct
   orders.
Timings are medians; nothing is asserted.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys


def kv_lines(text, prefix):
    rows = []
    for line in text.splitlines():
        if not line.startswith(prefix + " "):
            continue
        row = {}
        for tok in line.split()[1:]:
            k, _, v = tok.partition("=")
            try:
                row[k] = float(v) if "." in v else int(v)
            except ValueError:
                row[k] = v
        rows.append(row)
    return rows


def run(cmd, env=None):
    p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    if p.returncode != 0:
        sys.exit("bench locks: %s exited %d:\n%s" % (" ".join(cmd), p.returncode, p.stderr[-2000:]))
    return p.stdout


def fast_path(bench, rounds):
    samples = {}
    for _ in range(rounds):
        for r in kv_lines(run([bench, "fast"]), "bench_locks"):
            key = (r["held"], r["lockdep"], r["held_stacks"], r["lockstat"], r["entry_walk"])
            samples.setdefault(key, []).append(r["ns"])
    return {k: statistics.median(v) for k, v in samples.items()}


def mman(bench, lib, rounds):
    res = {0: {}, 1: {}}
    for i in range(rounds):
        for lockdep in ((0, 1) if i % 2 == 0 else (1, 0)):
            env = dict(os.environ, LD_PRELOAD=lib, VADSHIM_OPTIONS="lockdep=%d" % lockdep)
            for r in kv_lines(run([bench, "-r", "5", "all", "1000"], env), "bench_mman"):
                if r.get("shim") != 1:
                    sys.exit("bench locks: libvadshim.so was not loaded (LD_PRELOAD=%s)" % lib)
                res[lockdep].setdefault(r["op"], []).append(r["ns_per_op"])
    return res


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bench-locks", required=True)
    ap.add_argument("--bench-mman", required=True)
    ap.add_argument("--lib", required=True)
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--json")
    a = ap.parse_args()

    fast = fast_path(a.bench_locks, max(3, a.rounds))
    mm = mman(a.bench_mman, a.lib, a.rounds)
    mem = kv_lines(run([a.bench_locks, "memory"]), "bench_locks")[0]

    print("vadshim bench locks (medians of %d rounds; no timing is asserted)" % a.rounds)
    print()
    print("1. fast path: ns per lk_lock+lk_unlock, order already known")
    print("  %-34s %10s %10s" % ("configuration", "0 held", "1 held"))
    base = {h: fast[(h, 0, 0, 0, 0)] for h in (0, 1)}
    for name, key in (("lockdep=0", (0, 0, 0, 0)), ("lockdep=1 (default)", (1, 0, 0, 0)),
                      ("lockdep=1 + entry walk (preloaded)", (1, 0, 0, 1)),
                      ("lockdep=1 held_stacks=1", (1, 1, 0, 0)), ("lockdep=1 lockstat=1", (1, 0, 1, 0))):
        cells = []
        for h in (0, 1):
            v = fast[(h,) + key]
            cells.append("%6.1f ns" % v)
        print("  %-34s %10s %10s" % (name, cells[0], cells[1]))
    print("  %-34s %9.2fx %9.2fx" % ("ratio lockdep=1 / lockdep=0",
                                     fast[(0, 1, 0, 0, 0)] / base[0], fast[(1, 1, 0, 0, 0)] / base[1]))
    print("  validator cost per acquisition (1 held): %+.1f ns" % (fast[(1, 1, 0, 0, 0)] - base[1]))
    print()
    print("2. mman benchmark under the shim, 1000 live mappings: lockdep=1 vs lockdep=0 (target <= 1.05)")
    print("  %-14s %12s %12s %8s" % ("operation", "lockdep=0", "lockdep=1", "ratio"))
    ratios = []
    for op in mm[0]:
        off, on = statistics.median(mm[0][op]), statistics.median(mm[1][op])
        ratios.append(on / off)
        print("  %-14s %9.1f ns %9.1f ns %7.3fx%s" % (op, off, on, on / off,
                                                      "" if on / off <= 1.05 else "  (above 1.05)"))
    geo = statistics.geometric_mean(ratios) if ratios else 0
    print("  %-14s %12s %12s %7.3fx" % ("geomean", "", "", geo))
    print()
    print("3. validator memory after %d acquisitions of %d distinct orders:" % (mem["acquisitions"], mem["orders"]))
    print("  validator tables in use: %d bytes (%d before); process RSS grew %d KiB; %d new stacks in the depot"
          % (mem["validator_bytes"], mem["validator_bytes_before"], mem["rss_delta_kib"], mem["stacks"]))
    if a.json:
        os.makedirs(os.path.dirname(a.json) or ".", exist_ok=True)
        with open(a.json, "w") as f:
            json.dump({"fast_path_ns": {"%d,%d,%d,%d,%d" % k: v for k, v in fast.items()},
                       "mman": {str(k): v for k, v in mm.items()}, "memory": mem,
                       "mman_geomean_ratio": geo}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
