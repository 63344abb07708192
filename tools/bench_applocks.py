#!/usr/bin/env python3
"""`vadshim bench applocks`: what checking the program's own pthread locks costs.

usage: bench_applocks.py --bench BIN --lib LIB --src DIR --scenarios DIR
                         --app-check PY --out DIR [--rounds N] [--json FILE]

1. tests/bench/bench_applocks.c, one program, five ways in the same run:
   plain; LD_PRELOAD=LIB with lockdep=app; with lockdep=app:lockstat=1;
   the same source built with clang -fsanitize=thread, run with
   TSAN_OPTIONS=detect_deadlocks=1; valgrind --tool=helgrind (fewer
   iterations: it runs about 1000x slower).  Rows: uncontended
   lock+unlock pairs, nested pairs (a then b), contended pairs across 2
   threads; ns per op, best of N rounds (the VM's timing is noisy; each
   process already keeps its best batch), ratio to plain.
2. The lockdep=app scenario programs (tests/lockorder/app_*.c, the list
   from app_check.py --list) under each checker: vadshim (the normal build,
   preloaded), their TSan build (compiled here with clang), Helgrind (the
   normal build): total wall time of the scenarios that finish, and per
   scenario whether the checker gave the expected number of reports (0, or
   the number app_check.py expects).  The scenarios that really deadlock
   are left out of the wall time (TSan and Helgrind hang in them for
   ever); they run with a 5 s limit for the verdict only.
Nothing is asserted; the targets are printed next to the figures.
"""
import argparse
import glob
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

LIMIT = 60      # seconds for one scenario under one checker; beyond: cut, shown as ">"
ROWS = ["uncontended", "nested", "contended"]
COLS = ["plain", "lockdep=app", "lockdep=app:lockstat=1", "tsan", "helgrind"]
ITERS = {"helgrind": 20000}
DEFAULT_ITERS = 1000000


def die(msg):
    sys.exit("bench applocks: " + msg)


def clean_env():
    return {k: v for k, v in os.environ.items()
            if k not in ("LD_PRELOAD", "VADSHIM_OPTIONS", "TSAN_OPTIONS")}


def command(col, a, prog):
    """argv and env that run prog (a path, built plain) under checker col."""
    env = clean_env()
    if col.startswith("lockdep=app"):
        env.update(LD_PRELOAD=a.lib, VADSHIM_OPTIONS=col + ":log_path=/dev/null")
        return [prog], env
    if col == "tsan":
        env["TSAN_OPTIONS"] = "detect_deadlocks=1"
        return [os.path.join(a.out, "tsan", os.path.basename(prog))], env
    if col == "helgrind":
        return ["valgrind", "--tool=helgrind", "-q", prog], env
    return [prog], env


def build_tsan(a, progs):
    """clang -fsanitize=thread builds of bench_applocks and the scenarios."""
    cc = shutil.which("clang") or die("clang not found (needed for the TSan column)")
    d = os.path.join(a.out, "tsan")
    os.makedirs(d, exist_ok=True)
    flags = ["-fsanitize=thread", "-O1", "-g", "-fno-omit-frame-pointer", "-fno-optimize-sibling-calls",
             "-D_GNU_SOURCE", "-pthread", "-Wno-unused-function"]
    jobs = [([os.path.join(a.bench_src, "bench_applocks.c")], "bench_applocks", [])]
    lib = os.path.join(d, "libapp_shlib_lib.so")
    jobs.insert(0, ([os.path.join(a.src, "app_shlib_lib.c")], "libapp_shlib_lib.so",
                    ["-shared", "-fPIC"]))
    for p in sorted(set(progs)):
        extra = ["-rdynamic"]
        if p == "app_shlib":
            extra += [lib, "-Wl,-rpath," + d]
        jobs.append(([os.path.join(a.src, p + ".c")], p, extra))
    for srcs, name, extra in jobs:
        out = os.path.join(d, name)
        if os.path.exists(out) and all(os.path.getmtime(s) < os.path.getmtime(out) for s in srcs):
            continue
        r = subprocess.run([cc] + flags + srcs + extra + ["-o", out], capture_output=True, text=True)
        if r.returncode:
            die("TSan build of %s failed:\n%s" % (name, r.stderr[-3000:]))


def run_bench(col, row, a):
    argv, env = command(col, a, a.bench)
    iters = ITERS.get(col, DEFAULT_ITERS)
    batches = 2 if col == "helgrind" else 3
    r = subprocess.run(argv + [row, str(iters), str(batches)], env=env, capture_output=True,
                       text=True, timeout=600)
    m = re.search(r"ns_per_op=([0-9.]+)", r.stdout)
    if r.returncode or not m:
        die("%s %s failed (exit %d):\n%s%s" % (col, row, r.returncode, r.stdout, r.stderr[-2000:]))
    return float(m.group(1))


# ---- the scenario suite under each checker ---------------------------------


def count_reports(col, err, logs):
    if col == "vadshim":
        n = 0
        for line in logs.splitlines():
            if line.startswith("{"):
                try:
                    n += json.loads(line).get("type") == "violation"
                except json.JSONDecodeError:
                    pass
        return n
    if col == "tsan":
        return err.count("WARNING: ThreadSanitizer:")
    m = re.findall(r"ERROR SUMMARY: \d+ errors from (\d+) contexts", err)
    if m:
        return int(m[-1])
    # killed before its summary: count the error headers printed so far
    return len(re.findall(r"^==\d+== Thread #\d+(?! was created| is the program's root thread)",
                          err, re.M))


def run_scenario(col, sc, a, tmp):
    prog = os.path.join(a.scenarios, sc["prog"])
    env = clean_env()
    logs = os.path.join(tmp, "log")
    if col == "vadshim":
        argv = [prog]
        env.update(LD_PRELOAD=a.lib, VADSHIM_OPTIONS="lockdep=app:report_format=json:log_path=" + logs)
    elif col == "tsan":
        argv = [os.path.join(a.out, "tsan", sc["prog"])]
        env["TSAN_OPTIONS"] = "detect_deadlocks=1"
    else:
        argv = ["valgrind", "--tool=helgrind", prog]
    err_path = os.path.join(tmp, "err")
    t0 = time.monotonic()
    with open(err_path, "w") as err, open(os.devnull, "w") as out:
        p = subprocess.Popen(argv + sc["args"], stdout=out, stderr=err, env=env, start_new_session=True)
    limit = 5 if sc["hangs"] else LIMIT
    while p.poll() is None and time.monotonic() - t0 < limit:
        if sc["hangs"] and col == "vadshim" and '"violation"' in "".join(
                open(f).read() for f in glob.glob(logs + ".*")):
            break   # the report is out before the hang: that is the result
        time.sleep(0.02)
    secs = time.monotonic() - t0
    hung = p.poll() is None
    if hung:
        os.killpg(p.pid, signal.SIGKILL)
        p.wait()
    text = "".join(open(f, errors="replace").read() for f in glob.glob(logs + ".*"))
    for f in glob.glob(logs + ".*"):
        os.unlink(f)
    err = open(err_path, errors="replace").read()
    return secs, hung, count_reports(col, err, text)


def suite(a, scen):
    res = {}
    tmp = tempfile.mkdtemp(prefix="bench_applocks.")
    try:
        for col in ("vadshim", "tsan", "helgrind"):
            for sc in scen:
                res[(col, sc["name"])] = run_scenario(col, sc, a, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return res


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bench", required=True, help="bench_applocks, plain build")
    ap.add_argument("--bench-src", required=True, help="directory of bench_applocks.c")
    ap.add_argument("--lib", required=True)
    ap.add_argument("--src", required=True, help="tests/lockorder (the app_*.c sources)")
    ap.add_argument("--scenarios", required=True, help="build directory of the app_* programs")
    ap.add_argument("--app-check", required=True)
    ap.add_argument("--out", required=True, help="directory for the TSan builds")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--no-suite", action="store_true")
    ap.add_argument("--json")
    a = ap.parse_args()
    if not shutil.which("valgrind"):
        die("valgrind not found (needed for the Helgrind column)")
    listing = subprocess.run([sys.executable, a.app_check, "--list"], capture_output=True,
                             text=True, check=True).stdout
    scen = [json.loads(l) for l in listing.splitlines()]
    build_tsan(a, [s["prog"] for s in scen])

    best = {}
    for rnd in range(a.rounds):
        for row in ROWS:
            cols = COLS if rnd < 2 else COLS[:4]      # Helgrind: 2 rounds are enough
            for col in cols:
                v = run_bench(col, row, a)
                best[(row, col)] = min(v, best.get((row, col), v))
    print("vadshim bench applocks: ns per lock operation (pair), best of %d rounds; "
          "ratio to plain pthread in the same run" % a.rounds)
    print("  %-12s %11s %14s %14s %14s %14s" % ("row", "plain", "lockdep=app", "+lockstat=1", "TSan",
                                              "Helgrind"))
    for row in ROWS:
        base = best[(row, "plain")]
        cells = ["%8.1f ns" % base]
        for col in COLS[1:]:
            v = best[(row, col)]
            cells.append("%7.1f (%4.1fx)" % (v, v / base) if v < 1000 else "%7.0f (%4.0fx)" % (v, v / base))
        print("  %-12s %11s %14s %14s %14s %14s" % tuple([row] + cells))
    print("  targets: lockdep=app <= 3x plain on uncontended (%s); faster than TSan and Helgrind on "
          "every row (%s)" % (
              "met" if best[("uncontended", "lockdep=app")] <= 3 * best[("uncontended", "plain")] else "MISSED",
              "met" if all(best[(r, "lockdep=app")] < min(best[(r, "tsan")], best[(r, "helgrind")])
                           for r in ROWS) else "MISSED"))
    out = {"rounds": a.rounds, "ns_per_op": {"%s,%s" % k: v for k, v in best.items()},
           "iters": {c: ITERS.get(c, DEFAULT_ITERS) for c in COLS}}

    if not a.no_suite:
        res = suite(a, scen)
        print()
        print("the lockdep=app scenario suite under each checker (%d scenarios; wall time of the %d "
              "that finish;" % (len(scen), sum(not s["hangs"] for s in scen)))
        print("  left out of the time: %s, which really deadlock: run for the verdict with a 5 s limit)"
              % ", ".join(s["name"] for s in scen if s["hangs"]))
        print("  %-22s %8s %12s %12s %12s" % ("scenario", "expected", "vadshim", "TSan", "Helgrind"))
        right = {c: 0 for c in ("vadshim", "tsan", "helgrind")}
        total = {c: 0.0 for c in right}
        for s in scen:
            cells = []
            for c in right:
                secs, hung, n = res[(c, s["name"])]
                ok = n == s["reports"]
                right[c] += ok
                if not s["hangs"]:
                    total[c] += secs
                tag = ""
                if hung and c != "vadshim":
                    tag = " hung" if s["hangs"] else " >"
                cells.append("%d%s%s %5.2fs" % (n, "" if ok else "!", tag, secs))
            print("  %-22s %8d %12s %12s %12s" % tuple([s["name"], s["reports"]] + cells))
        print("  %-22s %8s %12s %12s %12s" % ("wall time (finishing)", "",
                                             *("%.1f s" % total[c] for c in right)))
        print("  %-22s %8s %12s %12s %12s" % ("expected report count", "",
                                             *("%d/%d" % (right[c], len(scen)) for c in right)))
        print("  (cells: reports seen, '!' when not the expected count, 'hung' for a real deadlock "
              "killed after 5 s, '>' for a run cut after %d s (its time counts as %d s), then seconds;"
              % (LIMIT, LIMIT))
        print("   vadshim counts JSON violations, TSan its WARNINGs, Helgrind its error contexts)")
        out["suite"] = {"%s,%s" % k: {"secs": v[0], "hung": v[1], "reports": v[2]} for k, v in res.items()}
        out["suite_wall_s"] = total
        out["suite_right"] = right
    if a.json:
        os.makedirs(os.path.dirname(a.json) or ".", exist_ok=True)
        with open(a.json, "w") as f:
            json.dump(out, f, indent=1)
        print("raw results: %s" % a.json)


if __name__ == "__main__":
    main()
