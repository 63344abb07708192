#!/usr/bin/env python3
"""Run one lockdep=app scenario natively and under the shim, check both.

usage: app_check.py --lib LIBVADSHIM --bindir DIR NAME
       app_check.py --list            (the scenario table, for the benchmark)

A scenario is one of the app_*.c programs (built next to this file's
meson.build) with its arguments, or a real program (real-*).  For a
program scenario:

1. The native run is the oracle for what the program does: it must finish
   with exit 0, "done" last and no "FAILED" line, or, for a scenario that
   really deadlocks, print "blocking" and still be alive a second later
   (then it is killed).  A scenario whose native run does not do that tests
   nothing, and fails.
2. The run under LD_PRELOAD=LIB with VADSHIM_OPTIONS=lockdep=app:
   report_format=json:log_path=TMP/log must print the same stdout.  For a
   deadlocking scenario the report must be in the log while the process is
   still blocked (it was written before the thread blocked); the process is
   then killed.  Otherwise the exit code is 66 when reports are expected
   (0 when not), and the summary at exit counts them.
3. The violation objects (in every process's log) must be exactly the
   expected ones: each expectation is (kind, a function that must be in
   the reported acquisition's stack, or the unlock's), plus for a cycle its
   length and, where given, the repeat count from the summary.

Prints both runs and one FAIL line per failed check, then "ok".
"""
import argparse
import glob
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
errors = []


def expect(cond, what):
    if not cond:
        errors.append(what)
    return cond


def V(kind, func, length=None, count=None, threads=None, **fields):
    """One expected violation: kind, a function in its stack, cycle length,
    repeat count, number of distinct threads that took the cycle's edges,
    and values of other keys of the violation object (README's JSON table)."""
    return {"kind": kind, "func": func, "length": length, "count": count, "threads": threads,
            "fields": fields}


CANARY = [V("cycle", "canary_ba", 2, 1)]

# name: program, arguments, hangs (a real deadlock), expected violations,
# lines stdout must contain (besides the native run's equality).
SCENARIOS = {
    "aa": ("app_aa", [], True, [V("recursive", "relock_a", errorcheck=False)], []),
    "aa-spin": ("app_aa", ["spin"], True, [V("recursive", "relock_a")], []),
    "aa-mtx": ("app_aa", ["mtx"], True, [V("recursive", "relock_a")], []),
    "aba": ("app_aba", [], True, [V("recursive", "a_b_a")], []),
    "abba": ("app_abba", [], False, [V("cycle", "take_ba", 2, 1)], []),
    "abba-2threads": ("app_abba_2threads", [], True, [V("cycle", None, 2, threads=2)], []),
    "ring3": ("app_ring", ["3"], False, [V("cycle", "close_ring", 3, 1)], []),
    "ring4": ("app_ring", ["4"], False, [V("cycle", "close_ring", 4, 1)], []),
    "ring100": ("app_ring", ["100"], False, [V("cycle", "close_ring", 100, 1)], []),
    "abcabc": ("app_bridge", ["abcabc"], False, [V("cycle", "close_bridge", 3, 1)], []),
    "abcdbcda": ("app_bridge", ["abcdbcda"], False, [V("cycle", "close_bridge", 4, 1)], []),
    "abcdbdda": ("app_bridge", ["abcdbdda"], False, [V("cycle", "close_bridge", 3, 1)], []),
    "trylock-silent": ("app_trylock", ["silent"], False, CANARY, ["no cycle"]),
    "trylock-outbound": ("app_trylock", ["outbound"], False,
                         [V("cycle", "l5_l4", 2, 1), V("cycle", "t6_l7", 2, 1)], []),
    "recursive-balanced": ("app_recursive", ["balanced"], False, CANARY, []),
    "recursive-inversion": ("app_recursive", ["inversion"], False,
                            [V("cycle", "one_then_zero", 2, 1)], []),
    "errorcheck-relock": ("app_errorcheck", ["relock"], False, [V("recursive", "relock_e", errorcheck=True)],
                          ["relock: Resource deadlock avoided"]),
    "errorcheck-unlock": ("app_errorcheck", ["unlock"], False,
                          [V("bad_unlock", "unlock_free"), V("bad_unlock", "unlock_other"),
                           V("bad_unlock", "unlock_extra")],
                          ["unlock free: Operation not permitted"]),
    "rwlock-reader-silent": ("app_rwlock", ["reader-silent"], False, CANARY, ["no cycle"]),
    "rwlock-reader-ww": ("app_rwlock", ["reader-ww"], False,
                         [V("cycle", "wd_wc", 2, 1), V("cycle", "wb_wa", 2, 1)], []),
    "rwlock-writer-rr": ("app_rwlock", ["writer-rr"], False, [V("cycle", "rb_ra", 2, 1)], []),
    "rwlock-writer-rerd": ("app_rwlock", ["writer-rerd"], False, [V("recursive", "rerd")], []),
    "rwlock-wrelock": ("app_rwlock", ["wrelock"], False, [V("recursive", "w_r_w")],
                       ["write relock: Resource deadlock avoided"]),
    "condwait-silent": ("app_condwait", ["silent"], False, CANARY, ["sum 12502500"]),
    "condwait-relock": ("app_condwait", ["relock"], False, [V("cycle", "wait_holding_w", 2, 1, cond_wait=True)], []),
    "reinit": ("app_reinit", [], False, CANARY, ["no cycle"]),
    "reuse": ("app_reuse", [], False, CANARY,
              ["malloc: address reused: yes", "calloc: address reused: yes",
               "mmap: address reused: yes"]),
    "static": ("app_static", [], False, [V("cycle", "static_ba", 2, 1)], []),
    "shlib": ("app_shlib", [], False, [V("cycle", "lib_yx", 2, 1), V("cycle", "lib_x_then", 2, 1)], []),
    "manyheld": ("app_manyheld", [], False, CANARY, ["held 1000 at once"]),
    "window": ("app_window", [], False, CANARY, ["131072 locks, window 5"]),
    # The lock table full: one line, later locks unchecked (the canary too), no crash.
    "window-small-table": ("app_window", [], False, [], ["131072 locks, window 5"]),
    "philo": ("app_philo", [], False, [V("cycle", "philosopher", 5, 1000, threads=5)], ["meals 5000"]),
    "fork": ("app_fork", [], False, CANARY, ["children exited 0: 20 of 20"]),
    "history": ("app_history", [], False, [V("cycle", "take_ba", 2, 1)], []),
    "threads": ("app_threads", [], False, CANARY, ["total 80000"]),
    "kinds": ("app_kinds", [], False,
              [V("cycle", "timed_ba", 2, 1), V("cycle", "spin_ba", 2, 1), V("cycle", "mtx_ba", 2, 1),
               V("cycle", "rwtimed_ba", 2, 1)], []),
}

# Scenarios run with more options: name -> (options, a word that exactly one
# plain-text line of the log must contain: the one-line message of a full table).
EXTRA = {"window-small-table": ("max_app_locks=1024", "max_app_locks=")}

OPTIONS = "lockdep=app:report_format=json"


def show(title, text):
    sys.stdout.write("--- %s\n%s%s" % (title, text, "" if text.endswith("\n") or not text else "\n"))


def read(path):
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except FileNotFoundError:
        return ""


def logs_text(prefix):
    return "".join(read(p) for p in sorted(glob.glob(prefix + ".*")))


def jsonl(text):
    objs = []
    for line in text.splitlines():
        if line.startswith("{"):
            try:
                objs.append(json.loads(line))
            except json.JSONDecodeError as e:
                expect(False, "a JSON line does not parse (%s): %s" % (e, line[:200]))
    return objs


def alive(p):
    return p.poll() is None


def run_program(argv, env, hangs, tmp, tag, log_prefix=None, wait_report=None):
    """Run argv; returns (exit code, or None when it hung and was killed; stdout; stderr; seconds)."""
    out_path = os.path.join(tmp, tag + ".out")
    err_path = os.path.join(tmp, tag + ".err")
    t0 = time.monotonic()
    with open(out_path, "w") as out, open(err_path, "w") as err:
        p = subprocess.Popen(argv, stdout=out, stderr=err, env=env, start_new_session=True)
    code = None
    try:
        if not hangs:
            try:
                code = p.wait(timeout=80)
            except subprocess.TimeoutExpired:
                expect(False, "%s: still running after 80 s (hung?)" % tag)
        else:
            # Blocked means: printed "blocking" (and, under the shim, the
            # report is in the log), and is still alive a second later.
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and alive(p):
                ready = "blocking" in read(out_path)
                if ready and wait_report:
                    ready = wait_report(logs_text(log_prefix))
                if ready:
                    break
                time.sleep(0.05)
            time.sleep(1.0)
            expect(alive(p), "%s: the process should be blocked for ever, but it exited (%s)"
                   % (tag, p.poll()))
            expect("blocking" in read(out_path), "%s: never printed 'blocking'" % tag)
    finally:
        if alive(p):
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
    secs = time.monotonic() - t0
    out = read(out_path)
    err = read(err_path)
    show("%s: %s (exit %s, %.2f s)" % (tag, " ".join(argv), "killed" if code is None else code, secs),
         out)
    if err:
        show(tag + " stderr", err)
    return code, out, err, secs


def stack_funcs(frames):
    return [f.get("func") or "" for f in frames or []]


def violation_funcs(v):
    side = v.get("acquiring") or v.get("unlocking") or {}
    return stack_funcs(side.get("stack"))


def check_violations(objs, want, hung):
    viols = [o for o in objs if o.get("type") == "violation"]
    summaries = [o for o in objs if o.get("type") == "summary"]
    for v in viols:
        c = v.get("conflicts") or [{}]
        sys.stdout.write("violation: kind=%s pid=%s tid=%s acquiring=%s length=%s\n" % (
            v.get("kind"), v.get("pid"), v.get("tid"), violation_funcs(v)[:6], c[0].get("length")))
    expect(len(viols) == len(want), "%d violation objects, expected %d" % (len(viols), len(want)))
    left = list(viols)
    for w in want:
        match = [v for v in left if v.get("kind") == w["kind"] and
                 (w["func"] is None or w["func"] in violation_funcs(v))]
        if not expect(match, "no %s report with %s in its stack" % (w["kind"], w["func"] or "any function")):
            continue
        v = match[0]
        left.remove(v)
        for k, val in w["fields"].items():
            got = v.get(k, v.get("acquiring", {}).get(k))   # top level, or the acquisition's
            expect(got == val, "%s: %s is %r, expected %r" % (w["func"], k, got, val))
        if w["length"] is not None:
            c = [c for c in v.get("conflicts") or [] if c.get("kind") == "cycle"]
            expect(c and c[0].get("length") == w["length"],
                   "%s: cycle length %s, expected %d" % (w["func"], c and c[0].get("length"), w["length"]))
            if c and w["length"] <= 8:
                edges = c[0].get("edges") or []
                expect(len(edges) == w["length"], "%s: %d edges listed, expected %d"
                       % (w["func"], len(edges), w["length"]))
                expect(all(e.get("stack") for e in edges[1:]),
                       "%s: every old edge has the stack that first took it" % w["func"])
                if w["threads"]:
                    tids = {e.get("tid") for e in edges}
                    expect(len(tids) == w["threads"], "%s: the edges were taken by %d threads, expected %d"
                           % (w["func"], len(tids), w["threads"]))
    if hung:
        return
    mine = [s for s in summaries if not viols or s.get("pid") == viols[0].get("pid")]
    if not expect(summaries, "a summary object at exit"):
        return
    s = mine[0] if mine else summaries[0]
    expect(s.get("distinct") == len(want), "summary: %s distinct violations, expected %d"
           % (s.get("distinct"), len(want)))
    for w in want:
        if w["count"] is None:
            continue
        counts = [x.get("count") for x in s.get("violations") or [] if x.get("kind") == w["kind"]]
        expect(w["count"] in counts, "summary: a %s counted %d times (counts: %s)"
               % (w["kind"], w["count"], counts))


def check_scenario(name, lib, bindir, extra_opts="", native_only=False):
    prog, args, hangs, want, lines = SCENARIOS[name]
    extra_opts, full_word = EXTRA.get(name, (extra_opts, None))
    argv = [os.path.join(bindir, prog)] + args
    tmp = tempfile.mkdtemp(prefix="app_check.")
    try:
        env = {k: v for k, v in os.environ.items() if k not in ("LD_PRELOAD", "VADSHIM_OPTIONS")}
        ncode, nout, nerr, nsecs = run_program(argv, env, hangs, tmp, "native")
        if not hangs:
            expect(ncode == 0, "native: exit %s, expected 0" % ncode)
            expect(nout.endswith("done\n") and "FAILED" not in nout, "native: ran to 'done'")
        for l in lines:
            expect(l in nout.splitlines(), "native: prints %r" % l)
        if native_only:
            return

        prefix = os.path.join(tmp, "log")
        senv = dict(env, LD_PRELOAD=lib,
                    VADSHIM_OPTIONS=OPTIONS + ":log_path=" + prefix + (":" + extra_opts if extra_opts else ""))

        def reported(text):
            return any(o.get("type") == "violation" for o in jsonl_quiet(text))

        code, out, err, secs = run_program(argv, senv, hangs, tmp, "lockdep=app", prefix,
                                           wait_report=reported if hangs else None)
        logs = logs_text(prefix)
        show("logs (%d files)" % len(glob.glob(prefix + ".*")), logs)
        expect(out == nout, "stdout differs from the native run")
        expect(err == "", "nothing on stderr (reports go to log_path)")
        if not hangs:
            want_code = 66 if want else 0
            expect(code == want_code, "exit %s, expected %d" % (code, want_code))
        objs = jsonl(logs)
        check_violations(objs, want, hangs)
        if name == "fork":
            sums = [o for o in objs if o.get("type") == "summary"]
            expect(len(glob.glob(prefix + ".*")) == 21 and len(sums) == 21,
                   "21 processes (the parent, 20 children) wrote their logs and summaries")
            expect(sum(o.get("distinct") == 0 for o in sums) == 20, "20 summaries (the children) say 0")
        if full_word:
            msgs = [l for l in logs.splitlines() if not l.startswith("{")]
            expect(len(msgs) == 1 and full_word in msgs[0],
                   "exactly one plain line naming %s: %s" % (full_word, msgs))
        if name == "ring100":
            check_ring100_human(argv, env, lib)
        print("time: native %.2f s, lockdep=app %.2f s" % (nsecs, secs))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def check_ring100_human(argv, env, lib):
    """The human report of a 100-lock cycle stays readable: bounded length."""
    r = subprocess.run(argv, env=dict(env, LD_PRELOAD=lib, VADSHIM_OPTIONS="lockdep=app"),
                       capture_output=True, text=True, timeout=60)
    show("human report (exit %d)" % r.returncode, r.stderr)
    lines = r.stderr.splitlines()
    expect(r.stderr.count("WARNING:") == 1, "human: one report")
    expect(any("cycle of 100 locks" in l for l in lines), "human: 'cycle of 100 locks'")
    expect(len(lines) <= 120 and max(map(len, lines or [""])) <= 1000,
           "human: the report is bounded (%d lines, longest %d chars)"
           % (len(lines), max(map(len, lines or [""]))))


def jsonl_quiet(text):
    objs = []
    for line in text.splitlines():
        if line.startswith("{") and line.endswith("}"):
            try:
                objs.append(json.loads(line))
            except json.JSONDecodeError:
                pass
    return objs


# ---- real programs ---------------------------------------------------------


def run_real(argv, lib, tmp, timeout, cwd=None, env_extra=None):
    """argv natively, then under lockdep=app; returns both CompletedProcess and the logs."""
    env = {k: v for k, v in os.environ.items() if k not in ("LD_PRELOAD", "VADSHIM_OPTIONS")}
    env.update(env_extra or {})
    res = []
    for tag, e in (("native", env), ("lockdep=app", None)):
        if e is None:
            prefix = os.path.join(tmp, "log")
            e = dict(env, LD_PRELOAD=lib, VADSHIM_OPTIONS=OPTIONS + ":log_path=" + prefix)
        t0 = time.monotonic()
        try:
            r = subprocess.run(argv, env=e, cwd=cwd, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired as ex:
            expect(False, "%s: %s still running after %d s (hung?)" % (tag, argv[0], timeout))
            r = subprocess.CompletedProcess(argv, None, ex.stdout or "", ex.stderr or "")
            if isinstance(r.stdout, bytes):
                r.stdout, r.stderr = r.stdout.decode(errors="replace"), r.stderr.decode(errors="replace")
        secs = time.monotonic() - t0
        show("%s: %s (exit %s, %.1f s)" % (tag, " ".join(argv), r.returncode, secs),
             r.stdout[-3000:] + r.stderr[-3000:])
        res.append((r, secs))
    logs = sorted(glob.glob(os.path.join(tmp, "log.*")))
    objs = []
    for p in logs:
        objs += jsonl(read(p))
    viols = [o for o in objs if o.get("type") == "violation"]
    for v in viols:
        sys.stdout.write(json.dumps(v)[:3000] + "\n")
    expect(not viols, "%d violation reports, expected none" % len(viols))
    graphs = [o for o in objs if o.get("type") == "graph"]
    app_edges = sum(g.get("app_edges", 0) + g.get("app_edges_omitted", 0) for g in graphs)
    expect(app_edges > 0, "the graphs at exit hold orders between program locks (lockdep=app saw them)")
    print("time: native %.1f s, lockdep=app %.1f s; %d process logs, %d orders between program locks"
          % (res[0][1], res[1][1], len(logs), app_edges))
    return res[0][0], res[1][0], graphs


SQLITE_PROG = r'''
import os, sqlite3, sys, threading
path = sys.argv[1]
for suffix in ("", "-wal", "-shm"):
    if os.path.exists(path + suffix):
        os.remove(path + suffix)
db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
db.execute("pragma journal_mode=wal")
db.execute("create table t (thread integer, i integer)")
shared = sqlite3.connect(":memory:", check_same_thread=False)
shared.execute("create table m (thread integer, i integer)")
def work(n):
    c = sqlite3.connect(path, timeout=60, isolation_level=None)
    c.execute("pragma synchronous=off")
    for i in range(300):
        c.execute("begin immediate")
        c.execute("insert into t values (?, ?)", (n, i))
        c.execute("commit")
        shared.execute("insert into m values (?, ?)", (n, i))
        c.execute("select count(*) from t where thread = ?", (n,)).fetchone()
    c.close()
ts = [threading.Thread(target=work, args=(n,)) for n in range(6)]
for t in ts: t.start()
for t in ts: t.join()
print(db.execute("select count(*), sum(i), count(distinct thread) from t").fetchone())
print(shared.execute("select count(*), sum(i) from m").fetchone())
'''


def real_sqlite(lib):
    tmp = tempfile.mkdtemp(prefix="app_check.")
    try:
        script = os.path.join(tmp, "threads.py")
        with open(script, "w") as f:
            f.write(SQLITE_PROG)
        n, s, _ = run_real(["/usr/bin/python3", script, os.path.join(tmp, "t.db")], lib, tmp, 100)
        want = "(1800, 269100, 6)\n(1800, 269100)\n"
        expect(n.stdout == want, "native output %r, expected %r" % (n.stdout, want))
        expect(s.stdout == want, "output under lockdep=app %r, expected %r" % (s.stdout, want))
        expect(n.returncode == 0 and s.returncode == 0, "exit codes %s, %s" % (n.returncode, s.returncode))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def real_make(lib):
    tmp = tempfile.mkdtemp(prefix="app_check.")
    try:
        src = os.path.join(tmp, "proj")
        os.mkdir(src)
        names = ["f%d" % i for i in range(8)]
        for i, n in enumerate(names):
            with open(os.path.join(src, n + ".c"), "w") as f:
                f.write("#include <pthread.h>\nint %s(void) { return %d; }\n" % (n, i + 1))
        with open(os.path.join(src, "main.c"), "w") as f:
            f.write("#include <stdio.h>\n%s\nint main(void) { int s = 0; %s printf(\"sum %%d\\n\", s); return 0; }\n"
                    % ("".join("int %s(void);\n" % n for n in names), "".join("s += %s();" % n for n in names)))
        with open(os.path.join(src, "Makefile"), "w") as f:
            objs = " ".join(n + ".o" for n in names + ["main"])
            f.write("prog: %s\n\t$(CC) -pthread -o $@ $^\n%%.o: %%.c\n\t$(CC) -O2 -pthread -c -o $@ $<\n"
                    "clean:\n\trm -f *.o prog\n" % objs)
        # Native first, then clean, then under the shim: both must build.
        env = {k: v for k, v in os.environ.items() if k not in ("LD_PRELOAD", "VADSHIM_OPTIONS")}
        r = subprocess.run(["make", "-j2"], cwd=src, env=env, capture_output=True, text=True, timeout=100)
        expect(r.returncode == 0, "native make -j2 exit %d: %s" % (r.returncode, r.stderr[-2000:]))
        subprocess.run(["make", "clean"], cwd=src, env=env, capture_output=True, timeout=30)
        prefix = os.path.join(tmp, "log")
        e = dict(env, LD_PRELOAD=lib, VADSHIM_OPTIONS=OPTIONS + ":log_path=" + prefix)
        t0 = time.monotonic()
        try:
            r = subprocess.run(["make", "-j2"], cwd=src, env=e, capture_output=True, text=True, timeout=100)
            show("make -j2 under lockdep=app (exit %d, %.1f s)" % (r.returncode, time.monotonic() - t0),
                 r.stdout + r.stderr)
            expect(r.returncode == 0, "make -j2 under lockdep=app: exit %d" % r.returncode)
        except subprocess.TimeoutExpired:
            expect(False, "make -j2 under lockdep=app still running after 100 s (hung?)")
        p = subprocess.run([os.path.join(src, "prog")], env=env, capture_output=True, text=True, timeout=30)
        expect(p.stdout == "sum 36\n", "the program built under the shim prints %r" % p.stdout)
        logs = sorted(glob.glob(prefix + ".*"))
        objs = []
        for path in logs:
            objs += jsonl(read(path))
        viols = [o for o in objs if o.get("type") == "violation"]
        for v in viols:
            sys.stdout.write(json.dumps(v)[:3000] + "\n")
        expect(not viols, "%d violation reports, expected none" % len(viols))
        # make, and per object: the compiler driver, cc1, as; then the link.
        expect(len(logs) >= 9 * 3, "%d process logs: every process ran under the shim" % len(logs))
        print("%d process logs" % len(logs))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# test_concurrent_futures alone takes 2.5 min here, mostly its process pools
# started by spawn and forkserver (fresh interpreters: nothing new for lock
# checking) and its deadlock-injection tests; the thread pools and the
# fork-started process pools (fork in a threaded program) are kept.
PY_RUNS = [["test_threading", "test_queue"],
           ["test_concurrent_futures", "-m", "*ThreadPool*",
            "-m", "*ProcessPoolForkProcessPoolExecutorTest*", "-m", "*ProcessPoolForkWaitTest*"]]


def real_python_tests(lib):
    """Under lockdep=app only: CPython's own verdict is the oracle."""
    tmp = tempfile.mkdtemp(prefix="app_check.")
    try:
        env = {k: v for k, v in os.environ.items() if k not in ("LD_PRELOAD", "VADSHIM_OPTIONS")}
        prefix = os.path.join(tmp, "log")
        env.update(TMPDIR=tmp, LD_PRELOAD=lib, VADSHIM_OPTIONS=OPTIONS + ":log_path=" + prefix)
        for args in PY_RUNS:
            argv = ["/usr/bin/python3", "-m", "test"] + args
            t0 = time.monotonic()
            try:
                r = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=280)
                out = r.stdout + r.stderr
                code = r.returncode
            except subprocess.TimeoutExpired as ex:
                out = (ex.stdout or b"").decode(errors="replace") if isinstance(ex.stdout, bytes) else (ex.stdout or "")
                code = None
                expect(False, "%s: still running after 280 s (hung?)" % " ".join(args))
            show("lockdep=app: %s (exit %s, %.1f s)" % (" ".join(argv), code, time.monotonic() - t0),
                 out[-4000:])
            expect(code == 0, "%s: exit %s" % (args[0], code))
            expect("Tests result: SUCCESS" in out, "%s: Tests result: SUCCESS" % args[0])
        logs = sorted(glob.glob(prefix + ".*"))
        objs = []
        for path in logs:
            objs += jsonl(read(path))
        viols = [o for o in objs if o.get("type") == "violation"]
        for v in viols:
            sys.stdout.write(json.dumps(v)[:3000] + "\n")
        expect(not viols, "%d violation reports, expected none" % len(viols))
        graphs = [o for o in objs if o.get("type") == "graph"]
        edges = sum(g.get("app_edges", 0) + g.get("app_edges_omitted", 0) for g in graphs)
        expect(edges > 0, "the graphs at exit hold orders between program locks (lockdep=app saw them)")
        print("%d process logs, %d orders between program locks" % (len(logs), edges))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lib")
    ap.add_argument("--bindir")
    ap.add_argument("--list", action="store_true")
    ap.add_argument("--native-only", action="store_true",
                    help="only the native run (grounds a scenario without the library)")
    ap.add_argument("name", nargs="?")
    a = ap.parse_args()
    if a.lib:
        a.lib = os.path.abspath(a.lib)     # meson passes it relative to the build directory
    if a.list:
        for name, (prog, args, hangs, want, _) in SCENARIOS.items():
            if name in EXTRA:
                continue        # not the default options: not comparable across checkers
            print(json.dumps({"name": name, "prog": prog, "args": args, "hangs": hangs,
                              "reports": len(want)}))
        return 0
    if a.native_only and a.name in SCENARIOS:
        check_scenario(a.name, None, a.bindir, native_only=True)
    elif not a.lib or not os.path.exists(a.lib):
        print("FAIL: no libvadshim.so at %s" % a.lib)
        return 1
    elif a.name == "real-sqlite":
        real_sqlite(a.lib)
    elif a.name == "real-make":
        real_make(a.lib)
    elif a.name == "real-python-tests":
        real_python_tests(a.lib)
    elif a.name in SCENARIOS:
        check_scenario(a.name, a.lib, a.bindir)
    else:
        print("unknown scenario %s" % a.name)
        return 2
    for e in errors:
        print("FAIL:", e)
    print("ok" if not errors else "%d check(s) failed" % len(errors))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
