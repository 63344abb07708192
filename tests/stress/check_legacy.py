#!/usr/bin/env python3
"""locking=legacy: the seed's race and deadlock, found by the validator and TSan.

usage: check_legacy.py STRESS_VFS reports|deadlock|tsan

Runs tests/stress/stress_vfs (the stress workload: file I/O, renames,
listings, ramfs and anonymous mappings in threads) with locking=legacy and
judges what a user would see: the validator's reports, whether the process
hangs, TSan's output.  stress_vfs prints "progress N" every 200 ms from a
thread that takes no lock; N counts the filesystem and mapping rounds, so
a deadlock shows as N standing still while the process is alive.

reports   human reports (held_stacks=1): one for lockfs_instance taken
          while mman is held (munmap of a ramfs mapping, mman -> lockfs)
          and one for fdtable taken while lockfs_instance is held (mmap
          of a ramfs file, lockfs -> fdtable); each with the acquisition
          stack, the held lock's stack and the stack where the opposite
          order was first seen.  The run may deadlock (it is killed then).
deadlock  legacy_delay_us=1000 widens the windows; the run must hang (the
          progress stops for 3 s while the process lives, its workers
          asleep on futexes), it is killed with SIGKILL, and the JSON
          reports written before the hang must hold both inversions with
          their stacks.
tsan      (TSan build) TSan must report a data race with a frame in
          mman/ (the ownership check made outside mman.lock); the run may
          deadlock, so it is killed once the workers stop.
"""
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time

STALL = 3.0          # seconds without progress that mean "deadlocked"


class Run:
    """stress_vfs under a watchdog: exit, or hang (progress stalls), or the deadline."""

    def __init__(self, argv, env=None, deadline=60.0):
        self.err = tempfile.TemporaryFile(mode="w+")
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=self.err,
                                     text=True, env=env)
        self.progress = []          # (time, value)
        self.out = []
        reader = threading.Thread(target=self._read, daemon=True)
        reader.start()
        self.hung = False
        self.blocked = []
        start = time.monotonic()
        while self.proc.poll() is None:
            time.sleep(0.1)
            now = time.monotonic()
            if now - start > deadline:
                break
            if self._stalled(now):
                self.hung = True
                self.blocked = self._futex_waiters()
                break
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.code = self.proc.wait()
        # A killed run leaves its segment (stress_vfs removes it at the end).
        try:
            os.unlink(f"/dev/shm/vadshim.{os.getuid()}.stress{self.proc.pid}")
        except OSError:
            pass
        reader.join(5)
        self.err.seek(0)
        self.stderr = self.err.read()

    def _read(self):
        for line in self.proc.stdout:
            self.out.append(line)
            m = re.match(r"progress (\d+)$", line.strip())
            if m:
                self.progress.append((time.monotonic(), int(m.group(1))))

    def _stalled(self, now):
        if len(self.progress) < 2:
            return False
        last_t, last_v = self.progress[-1]
        if now - last_t > STALL:
            return True         # no heartbeat at all: the main thread is stuck too
        first = [t for t, v in self.progress if v == last_v][0]
        return last_t - first >= STALL

    def _futex_waiters(self):
        """Threads of the process asleep in the kernel's futex wait."""
        names = []
        base = f"/proc/{self.proc.pid}/task"
        try:
            for tid in os.listdir(base):
                try:
                    with open(f"{base}/{tid}/wchan") as f:
                        w = f.read().strip()
                    with open(f"{base}/{tid}/stat") as f:
                        st = f.read().rsplit(")", 1)[1].split()[0]
                except OSError:
                    continue
                names.append((tid, st, w))
        except OSError:
            pass
        return names


def human_reports(text):
    """Parse the human reports: a list of dicts with the classes and stacks."""
    reports = []
    for block in re.findall(r"^==vadshim== WARNING: lock-order violation.*?"
                            r"^==vadshim== end of report$", text, re.M | re.S):
        lines = block.splitlines()
        rep = {"acquiring": None, "held": [], "stacks": {}}
        key = None
        for line in lines:
            m = re.match(r'  acquiring "[^"]*" \(class (\S+),', line)
            if m:
                rep["acquiring"] = m.group(1)
                key = "acquiring"
                rep["stacks"][key] = []
                continue
            m = re.match(r'  while holding "[^"]*" \(class (\S+),', line)
            if m:
                rep["held"].append(m.group(1))
                key = "held:" + m.group(1)
                rep["stacks"][key] = []
                continue
            m = re.match(r"  the opposite order (\S+) -> (\S+) was first seen", line)
            if m:
                key = "opposite"
                rep["stacks"][key] = []
                continue
            m = re.match(r"    #\d+ 0x[0-9a-f]+ (\S+)", line)
            if m and key:
                rep["stacks"][key].append(m.group(1))
                continue
            key = None
        reports.append(rep)
    return reports


def json_reports(text):
    reports = []
    for line in text.splitlines():
        if not line.startswith('{"type":"violation"'):
            continue
        v = json.loads(line)
        for c in v["conflicts"]:
            held = [h for h in v["held"] if h["class"] == c["held_class"]]
            opp = c.get("opposite") or {}
            reports.append({
                "acquiring": v["acquiring"]["class"],
                "held": [c["held_class"]],
                "stacks": {
                    "acquiring": [f["func"] or "?" for f in v["acquiring"]["stack"]],
                    "held:" + c["held_class"]: [f["func"] or "?" for f in held[0]["stack"]]
                    if held else [],
                    "opposite": [f["func"] or "?" for f in opp.get("stack", [])],
                },
            })
    return reports


def check_pair(reports, acquiring, held, acq_fn, held_fn, opp_fn, errors):
    """The report of acquiring taken under held, with the three stacks."""
    found = [r for r in reports if r["acquiring"] == acquiring and held in r["held"]]
    if not found:
        errors.append(f"no report of {acquiring} taken while {held} is held")
        return
    r = found[0]
    for key, fn in (("acquiring", acq_fn), ("held:" + held, held_fn), ("opposite", opp_fn)):
        frames = r["stacks"].get(key, [])
        if len(frames) < 2:
            errors.append(f"{acquiring} under {held}: {key} stack missing or short: {frames}")
        elif not any(re.match(fn, f) for f in frames):
            errors.append(f"{acquiring} under {held}: {key} stack has no {fn} frame: {frames}")
        else:
            print(f"ok: {acquiring} under {held}: {key} stack, {len(frames)} frames, "
                  f"{' <- '.join(frames[:3])}")


def check_inversions(reports, errors):
    # munmap of a ramfs mapping: lockfs inside mman; the opposite order
    # is first seen in the vfs: attaching the segment maps it into the
    # arena, mmap of a ramfs file maps its pages (lockfs, then mman).
    check_pair(reports, "lockfs_instance", "mman", r"legacy_fs_enter|mman_sys_munmap",
               r"mman_sys_", r"vfs_sys_mmap|vfs_attach", errors)
    # mmap of a ramfs file: fdtable inside lockfs; the opposite order is
    # every open and close (fdtable, then lockfs).
    check_pair(reports, "fdtable", "lockfs_instance", r"vfs_sys_mmap", r"vfs_sys_mmap",
               r"path_do|vfs_sys_(openat|close)", errors)


def mode_reports(prog, errors):
    run = Run([prog, "3", "locking=legacy:held_stacks=1"])
    sys.stdout.write(run.stderr)
    print(f"run: exit {run.code}, hung: {run.hung}")
    check_inversions(human_reports(run.stderr), errors)


def mode_deadlock(prog, errors):
    run = Run([prog, "60", "locking=legacy:legacy_delay_us=1000:report_format=json:held_stacks=1"])
    sys.stdout.write(run.stderr)
    if not run.hung:
        errors.append(f"no deadlock: the run ended (exit {run.code}) or ran to the deadline")
    else:
        last = run.progress[-1][1] if run.progress else None
        print(f"deadlock: progress stood at {last} for {STALL:.0f} s; killed with SIGKILL "
              f"(exit {run.code})")
        for tid, st, w in run.blocked:
            print(f"  thread {tid}: state {st}, wchan {w or '?'}")
        asleep = [b for b in run.blocked if b[1] == "S"]
        if len(asleep) < 3:
            errors.append(f"expected the workers asleep, got {run.blocked}")
        if any(w and w != "0" for _, _, w in run.blocked) and \
                not any("futex" in w for _, _, w in asleep):
            errors.append("no thread asleep in a futex wait")
    if run.code != -signal.SIGKILL and run.hung:
        errors.append(f"expected death by SIGKILL, got {run.code}")
    check_inversions(json_reports(run.stderr), errors)


def mode_tsan(prog, errors):
    env = dict(os.environ)
    # This test expects a report: keep going after it (the run is killed
    # anyway), and TSan's own exit code marks that it reported.
    env["TSAN_OPTIONS"] = "halt_on_error=0:exitcode=66:report_signal_unsafe=0"
    argv = [prog, "3", "locking=legacy"]
    run = Run(argv, env=env)
    if "unexpected memory mapping" in run.stderr:
        print("note: TSan needs less ASLR entropy here; rerunning under setarch -R")
        run = Run(["setarch", os.uname().machine, "-R"] + argv, env=env)
    sys.stdout.write(run.stderr)
    print(f"run: exit {run.code}, hung: {run.hung}")
    races = re.findall(r"^WARNING: ThreadSanitizer: data race.*?^SUMMARY: ThreadSanitizer:.*?$",
                       run.stderr, re.M | re.S)
    if not races:
        errors.append("TSan reported no data race")
        return
    mman_races = [r for r in races if re.search(r"mman/(mman_sys|arena|mman_wrap)\.c", r)]
    if not mman_races:
        errors.append("no TSan data race has a frame in mman/")
        return
    r = mman_races[0]
    if not re.search(r"owned_by_shim", r):
        errors.append("the mman race is not the ownership check (owned_by_shim)")
    print(f"ok: {len(races)} TSan data race report(s), {len(mman_races)} with mman frames; first:")
    print("\n".join(r.splitlines()[:12]))


def main():
    prog, mode = sys.argv[1], sys.argv[2]
    errors = []
    {"reports": mode_reports, "deadlock": mode_deadlock, "tsan": mode_tsan}[mode](prog, errors)
    for e in errors:
        print("FAIL:", e)
    print("ok" if not errors else f"{len(errors)} check(s) failed")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
