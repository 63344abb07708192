#!/usr/bin/env python3
"""Driver of `vadshim bench procs`: multi-process workloads under the shim
in /ramfs against the same natively on tmpfs (/dev/shm), in the same run,
alternating side by side round by round.  Each row is timed best-of-N
(processes here fall into a fast and a slow mode by address layout; the
best run of each side is the comparable one).

    tools/bench_procs.py --lib build/normal/libvadshim.so \\
                         --cproj tests/data/cproj [--rounds 5] [--json FILE]

A row is one entry of ROWS: a name, a label, and a function
prepare(side) -> (argv, env, cwd, reps[, parse]) giving the command the side
runs (side is "native" or "shim", with the side's directory and environment);
the time of a run is the wall time of the command divided by reps, or, when
the row gives parse, parse(stdout): the seconds per operation the command
measured itself (for micro-operations, where process start-up would drown
the figure).  Add a row by appending to ROWS.

The exit status says only whether the measurements could be made.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time


class Side:
    """One side of a comparison: its directory and environment."""

    def __init__(self, name, lib, seg):
        self.name = name
        self.env = dict(os.environ)
        self.env.pop("LD_PRELOAD", None)
        self.env.pop("VADSHIM_OPTIONS", None)
        if name == "shim":
            self.env["LD_PRELOAD"] = lib
            self.env["VADSHIM_OPTIONS"] = "ramfs=%s" % seg
            self.root = "/ramfs/bench_procs"
        else:
            self.root = tempfile.mkdtemp(prefix="vadshim_bench_procs.", dir="/dev/shm")

    def sh(self, script):
        """Run a set-up shell script on this side (under the shim if shim)."""
        r = subprocess.run(["/bin/sh", "-c", script], env=self.env,
                           capture_output=True, text=True, timeout=600)
        if r.returncode != 0:
            raise RuntimeError("%s: set-up failed: %s" % (self.name, r.stderr.strip()[-400:]))


def row_sh_exit(side, a):
    """sh -c 'exit' started N times by one shell: fork + exec start-up."""
    n = 200
    script = "i=0; while [ $i -lt %d ]; do /bin/sh -c exit; i=$((i+1)); done" % n
    return ["/bin/sh", "-c", script], side.env, "/", n


def row_make(side, a):
    """make -j2 of tests/data/cproj from clean, tree and TMPDIR in the directory."""
    d = side.root + "/cproj"
    side.sh('rm -rf "%s" && mkdir -p "%s/tmp" && cp -r "%s" "%s/src"' % (d, d, a.cproj, d))
    env = dict(side.env)
    env["TMPDIR"] = d + "/tmp"
    return ["/bin/sh", "-c", "make -s clean && make -s -j2"], env, d + "/src", 1


def row_sqlite(mode):
    """Two sqlite3 processes, 100 write transactions each, on one database
    (tests/preload/sqlite_twoproc.sh): POSIX locks between processes, and in
    WAL mode the -shm index mapped MAP_SHARED by both."""
    def prep(side, a):
        argv = ["/bin/bash", a.twoproc, side.root, mode, "100"]
        return argv, side.env, "/", 1
    return prep


def row_plocks(side, a):
    """Uncontended fcntl F_SETLK lock/unlock pairs (bench_plocks' own timing,
    best of its five rounds): seconds per fcntl call."""
    def parse(out):
        return 1.0 / json.loads(out.strip().splitlines()[-1])["ops_per_s"]
    return [a.plocks, side.root + "/plocks.db", "200000"], side.env, "/", 1, parse


# name, label, prepare
ROWS = [
    ("sh_exit", "sh -c 'exit' (fork+exec start-up, per process)", row_sh_exit),
    ("make_j2", "make -j2 of tests/data/cproj (from clean)", row_make),
    ("sqlite_delete", "2 sqlite3 writers x 100 transactions, rollback journal", row_sqlite("delete")),
    ("sqlite_wal", "2 sqlite3 writers x 100 transactions, WAL", row_sqlite("wal")),
    ("fcntl_pair", "uncontended fcntl F_SETLK (per call; target <= 0.2x)", row_plocks),
]


def run_once(argv, env, cwd):
    if cwd.startswith("/ramfs"):
        # The kernel has no /ramfs: the shim's shell changes into it.
        argv = ["/bin/sh", "-c", 'cd "$0" && exec "$@"', cwd] + argv
        cwd = "/"
    t0 = time.perf_counter()
    r = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True, timeout=600)
    t = time.perf_counter() - t0
    if r.returncode != 0:
        raise RuntimeError("%s failed (%d): %s" % (" ".join(argv), r.returncode,
                                                    (r.stderr or r.stdout).strip()[-400:]))
    return t, r.stdout


def fmt_time(s):
    if s < 1e-3:
        return "%.1f us" % (s * 1e6)
    if s < 1:
        return "%.2f ms" % (s * 1e3)
    return "%.3f s" % s


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--lib", required=True)
    ap.add_argument("--cproj", required=True)
    ap.add_argument("--twoproc", required=True, help="tests/preload/sqlite_twoproc.sh")
    ap.add_argument("--plocks", required=True, help="the bench_plocks program")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--json")
    a = ap.parse_args()
    a.lib = os.path.realpath(a.lib)
    a.cproj = os.path.realpath(a.cproj)
    a.twoproc = os.path.realpath(a.twoproc)
    for tool in ("make", "cc", "sqlite3"):
        if not shutil.which(tool):
            print("bench procs: %s not found" % tool, file=sys.stderr)
            return 1
    seg = "bench_procs%d" % os.getpid()
    native = Side("native", a.lib, seg)
    shim = Side("shim", a.lib, seg)
    results = {}
    try:
        shim.sh('mkdir -p "%s"' % shim.root)
        for name, label, prep in ROWS:
            best = {}
            for _ in range(a.rounds):
                for side in (native, shim):
                    argv, env, cwd, reps, *parse = prep(side, a)
                    t, out = run_once(argv, env, cwd)
                    t = parse[0](out) if parse else t / reps
                    best[side.name] = min(best.get(side.name, t), t)
            results[name] = {"label": label, "native_s": best["native"],
                             "shim_s": best["shim"],
                             "ratio": best["shim"] / best["native"]}
    except RuntimeError as e:
        print("bench procs: %s" % e, file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(native.root, ignore_errors=True)
        try:
            os.unlink("/dev/shm/vadshim.%d.%s" % (os.getuid(), seg))
        except OSError:
            pass

    print("bench procs: best of %d rounds; native = tmpfs without the shim, "
          "shim = /ramfs under the shim" % a.rounds)
    w = max(len(r["label"]) for r in results.values())
    print("%-*s  %12s  %12s  %7s" % (w, "workload", "native", "shim", "ratio"))
    for name, _, _ in ROWS:
        r = results[name]
        print("%-*s  %12s  %12s  %6.2fx" % (w, r["label"], fmt_time(r["native_s"]),
                                            fmt_time(r["shim_s"]), r["ratio"]))
    if a.json:
        os.makedirs(os.path.dirname(a.json) or ".", exist_ok=True)
        with open(a.json, "w") as f:
            json.dump({"rounds": a.rounds, "rows": results}, f, indent=1)
        print("bench procs: JSON in %s" % a.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
