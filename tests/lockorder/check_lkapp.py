#!/usr/bin/env python3
"""lockdep=app through the real preload path: lkapp_smoke.c under LD_PRELOAD.

usage: check_lkapp.py SMOKE LIBVADSHIM

Each case runs the smoke program with its options and a private log
(report_format=json:log_path=DIR/log), then checks what a user sees: the
exit code, the program's own output, and the JSON objects in the log.
Prints one line per failed check and "N passed, N failed".
"""
import glob
import json
import os
import re
import subprocess
import sys
import tempfile

SMOKE, LIB = sys.argv[1], sys.argv[2]
npass = nfail = 0


def check(ok, what):
    global npass, nfail
    if ok:
        npass += 1
    else:
        nfail += 1
        print("FAIL: " + what)


def run(mode, opts, timeout=20):
    d = tempfile.mkdtemp(prefix="lkapp.")
    env = dict(os.environ, LD_PRELOAD=LIB,
               VADSHIM_OPTIONS="mount=:report_format=json:log_path=%s/log%s" % (d, ":" + opts if opts else ""))
    p = subprocess.run([SMOKE, mode], env=env, capture_output=True, text=True, timeout=timeout)
    objs = {}
    for f in sorted(glob.glob(d + "/log.*")):
        pid = int(f.rsplit(".", 1)[1])
        with open(f) as fh:
            objs[pid] = [json.loads(l) for l in fh if l.startswith("{")]
        os.unlink(f)
    os.rmdir(d)
    addrs = dict(re.findall(r"(\w)=(0x[0-9a-f]+)", p.stdout.splitlines()[0])) if p.stdout else {}
    return p, objs, addrs


def of_type(objs, t):
    return [o for lst in objs.values() for o in lst if o.get("type") == t]


# abba under lockdep=app: one cycle between a and b, exit 66
p, objs, ad = run("abba", "lockdep=app")
v = of_type(objs, "violation")
check(p.returncode == 66, "abba: exit code 66, got %d" % p.returncode)
check(len(v) == 1 and v[0]["kind"] == "cycle" and v[0].get("program_lock"),
      "abba: one program-lock cycle report, got %s" % [x.get("kind") for x in v])
if v:
    locks = {v[0]["acquiring"]["addr"]} | {h["addr"] for h in v[0]["held"]}
    check(locks == {ad.get("a"), ad.get("b")}, "abba: the report names a and b: %s" % locks)
    check(v[0]["conflicts"][0]["length"] == 2, "abba: cycle of length 2")
    fr = v[0]["acquiring"]["stack"]
    check(fr and fr[0].get("func") == "pair", "abba: the stack starts in the program (pair): %s" % fr[:1])

# the same program without lockdep=app: the wrappers pass through, silence
p, objs, ad = run("abba", "")
check(p.returncode == 0 and not of_type(objs, "violation"), "abba without lockdep=app: silent, exit 0")

# a consistent order: silence
p, objs, ad = run("good", "lockdep=app")
check(p.returncode == 0 and not of_type(objs, "violation"), "good order: silent, exit 0")

# self-deadlock: the report is in the log before the thread hangs
p, objs, ad = run("self", "lockdep=app")
v = of_type(objs, "violation")
check(p.returncode == -14, "self: the program hangs until SIGALRM (%d)" % p.returncode)
check(len(v) == 1 and v[0]["kind"] == "recursive" and v[0]["acquiring"]["addr"] == ad.get("a"),
      "self: one recursive-locking report on a, written before the hang")

# lockstat: exact counts for the lock taken 1000 times
p, objs, ad = run("stat", "lockdep=app:lockstat=1")
st = of_type(objs, "lockstat")
rows = [r for s in st for r in s.get("locks", []) if r["addr"] == ad.get("s")]
check(p.returncode == 0 and len(rows) == 1, "stat: one lockstat row for s")
if rows:
    check(rows[0]["acquisitions"] == 1000 and rows[0]["contentions"] == 0 and rows[0]["kind"] == "mutex",
          "stat: 1000 acquisitions, no contention, kind mutex: %s" % rows[0])
    check(rows[0]["site"].get("func") == "main", "stat: named by its first acquisition site (main)")

# condition wait through the GLIBC_2.3.2 wrapper
p, objs, ad = run("cond", "lockdep=app")
check("timedwait ETIMEDOUT" in p.stdout and "unlock 0" in p.stdout and p.returncode == 0
      and not of_type(objs, "violation"), "cond: timed wait times out, mutex held after, silent")

# fork with another thread holding a lock: the child locks freely
p, objs, ad = run("fork", "lockdep=app")
check("child exit 7" in p.stdout and p.returncode == 0 and not of_type(objs, "violation"),
      "fork: the child runs and exits, silence: %r" % p.stdout)

print("%d passed, %d failed" % (npass, nfail))
sys.exit(1 if nfail else 0)
