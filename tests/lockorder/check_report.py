#!/usr/bin/env python3
"""Run a lockorder scenario program and check what it reports.

usage: check_report.py PROGRAM violation|good [--lines]

violation: exactly one rank-violation report naming "fdtable" (acquired)
and "mman" (held); the acquisition stack starts in then_fdtable, called
from take_mman_first; the held lock's stack starts in take_mman_first and
does not contain then_fdtable; with --lines (libdw builds) the frames of
both stacks in violation.c carry file:line; a summary counting the three
occurrences; exit code 66 (lk_config.exitcode default).
good: no output at all and exit code 0.
"""
import re
import subprocess
import sys

FRAME = re.compile(r"^    #(\d+) 0x[0-9a-f]+ (.*)$")


def block(lines, header):
    """The frames printed under the line that starts with header."""
    for i, line in enumerate(lines):
        if line.startswith(header):
            frames = []
            for f in lines[i + 1:]:
                m = FRAME.match(f)
                if not m:
                    break
                frames.append(m.group(2))
            return frames
    return None


def check_violation(out, code, want_lines):
    errors = []

    def expect(cond, what):
        if not cond:
            errors.append(what)

    lines = out.splitlines()
    expect(code == 66, f"exit code {code}, expected 66")
    expect(out.count("WARNING:") == 1, "exactly one report for three occurrences")
    expect(re.search(r"^==vadshim== WARNING: lock-order violation \(rank\) in thread \d+$",
                     out, re.M), "report header")
    acq = block(lines, '  acquiring "fdtable" (class fdtable, rank 100) at:')
    held = block(lines, '  while holding "mman" (class mman, rank 300), taken at:')
    expect(acq, "acquisition block with its stack")
    expect(held, "held-lock block with its stack")
    if acq:
        expect(acq[0].startswith("then_fdtable+0x"), f"acquisition #0 is then_fdtable: {acq[0]}")
        expect(len(acq) > 1 and acq[1].startswith("take_mman_first+0x"),
               "acquisition #1 is take_mman_first")
    if held:
        expect(held[0].startswith("take_mman_first+0x"), f"held #0 is take_mman_first: {held[0]}")
        expect(not any("then_fdtable" in f for f in held), "held stack is not the current one")
    if want_lines and acq and held:
        for name, frames in (("acquisition", acq[:2]), ("held", held[:1])):
            for f in frames:
                expect(re.search(r"violation\.c:\d+$", f), f"{name} frame has file:line: {f}")
    expect("  locks held by this thread (1): mman" in lines, "held list")
    expect(any(l.startswith("  hierarchy: fdtable -> mman (") for l in lines), "hierarchy line")
    expect(lines.count("==vadshim== end of report") == 1, "report end line")
    expect(re.search(r"^==vadshim== SUMMARY: 1 distinct lock violation \(3 occurrences\): "
                     r"rank mman -> fdtable x3$", out, re.M), "summary line")
    return errors


def main():
    prog, mode = sys.argv[1], sys.argv[2]
    want_lines = "--lines" in sys.argv[3:]
    run = subprocess.run([prog] + (["good"] if mode == "good" else []),
                         capture_output=True, text=True, timeout=60)
    out = run.stderr + run.stdout
    if mode == "good":
        errors = [] if (run.returncode == 0 and out == "") else \
            [f"expected silence and exit 0, got exit {run.returncode}"]
    else:
        errors = check_violation(out, run.returncode, want_lines)
    sys.stdout.write(out)
    for e in errors:
        print("FAIL:", e)
    print("ok" if not errors else f"{len(errors)} check(s) failed")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
