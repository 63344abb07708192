#!/usr/bin/env python3
"""Pretty-print a vadshim JSON report file (report_format=json).

usage: lk_report.py FILE

Reads the JSON lines (other lines are ignored): violations, the summary,
the lock graph and lockstat tables, and prints them for a reader.
"""
import json
import signal
import sys


def frame(f):
    where = f.get("func") or "(%s)" % (f.get("module") or "?")
    if f.get("func"):
        where += "+0x%x" % f.get("off", 0)
        if f.get("module"):
            where += " (%s)" % f["module"]
    if f.get("file"):
        where += " %s:%s" % (f["file"], f.get("line"))
    return "%s %s" % (f.get("pc", "?"), where)


def stack(frames, complete, indent="      "):
    out = ["%s#%d %s" % (indent, i, frame(f)) for i, f in enumerate(frames)]
    if not complete:
        out.append(indent + "(caller and shim entry only: held_stacks=1 records full stacks)")
    return out


def lock(d):
    if d.get("addr"):   # a program lock (lockdep=app)
        return '"%s" (program %s%s)' % (d.get("lock"), d.get("class"),
                                        ", for reading" if d.get("mode") == "read" else "")
    rank = "unranked" if d.get("rank") is None else "rank %d" % d["rank"]
    return '"%s" (class %s, %s)' % (d.get("lock"), d.get("class"), rank)


def violation(v):
    out = ["violation (%s) in pid %s thread %s" % (v["kind"], v.get("pid"), v.get("tid"))]
    if v.get("why"):
        out.append("  " + v["why"])
    what = v.get("acquiring") or v.get("unlocking")
    if what:
        out.append("  %s %s at:" % ("acquiring" if "acquiring" in v else "unlocking", lock(what)))
        out += stack(what.get("stack", []), what.get("stack_complete", False))
    for c in v.get("conflicts", []):
        if c["kind"] == "rank":
            out.append("  against the ranks: holds %s (class %s)" % (c["held"], c["held_class"]))
            continue
        names = [c["edges"][0]["from"]] + [e["to"] for e in c["edges"]]
        if len(names) > 13:
            names = names[:6] + ["... (%d more) ..." % (len(names) - 12)] + names[-6:]
        out.append("  cycle of %d %s: %s" % (c["length"], "locks" if v.get("program_lock") else "classes",
                                            " -> ".join(names)))
        for k, e in enumerate(c["edges"]):
            if 4 <= k < len(c["edges"]) - 1:
                if k == 4:
                    out.append("    edges %d to %d: stacks not shown" % (k + 1, len(c["edges"]) - 1))
                continue
            tag = "this acquisition" if e.get("new") else "first seen in thread %s" % e["tid"]
            out.append("    edge %s -> %s (%s), %s acquired at:" % (e["from"], e["to"], tag, e["to"]))
            out += stack(e["stack"], e["stack_complete"], "      ")
            out.append("    %s taken at:" % e["from"])
            out += stack(e["held_stack"], e["held_stack_complete"], "      ")
        if c.get("gate"):
            out.append("    (every edge first seen under class %s: a gate lock?)" % c["gate"])
    if v.get("held"):
        out.append("  held locks:")
        for h in v["held"]:
            out.append("    %s%s, taken at:" % (lock(h), " by trylock" if h.get("trylock") else ""))
            out += stack(h["stack"], h["stack_complete"])
    if v.get("hierarchy"):
        out.append("  hierarchy: " + " -> ".join(v["hierarchy"]))
    return out


def ms(ns):
    return "%.3f" % (ns / 1e6)


def us(ns):
    return "%.3f" % (ns / 1e3)


def lockstat(s):
    out = ["lockstat (pid %s, %s)" % (s.get("pid"), s.get("when"))]
    hdr = "  %-20s %12s %10s %6s %11s %9s %9s %11s %9s %9s" % (
        "class", "acquired", "contended", "cont%", "wait_ms", "wait_avg", "wait_max",
        "hold_ms", "hold_avg", "hold_max")

    def row(r):
        a, c = r["acquisitions"], r["contentions"]
        return "%12d %10d %6.2f %11s %9s %9s %11s %9s %9s" % (
            a, c, 100.0 * c / a if a else 0, ms(r["wait_ns"]), us(r["wait_ns"] / c if c else 0),
            us(r["wait_max_ns"]), ms(r["hold_ns"]), us(r["hold_ns"] / a if a else 0),
            us(r["hold_max_ns"]))
    out.append(hdr + "  (us for avg/max)")
    for r in s.get("classes", []):
        out.append("  %-20.20s %s" % (r["class"], row(r)))
    out.append("  top sites:")
    for r in s.get("sites", [])[:10]:
        out.append("  %-20.20s %s  %s" % (r["class"], row(r), frame(r["site"])))
    if "locks" in s:    # program locks (lockdep=app), mutrace style
        out.append("  program locks: top %d of %d locked, sorted by %s" % (
            len(s["locks"]), s.get("locks_total", 0), s.get("sort")))
        out.append("  %-4s %-16s %-12s %12s %10s %6s %9s %11s %9s %9s %11s %9s %9s  %s" % (
            "#", "lock", "kind", "acquired", "contended", "cont%", "changes", "wait_ms", "wait_avg",
            "wait_max", "hold_ms", "hold_avg", "hold_max", "first locked at"))
        for i, r in enumerate(s["locks"]):
            a, c = r["acquisitions"], r["contentions"]
            out.append("  %-4d %-16s %-12s %12d %10d %6.2f %9d %11s %9s %9s %11s %9s %9s  %s" % (
                i + 1, r.get("name") or r["addr"], r["kind"], a, c, 100.0 * c / a if a else 0, r["changes"],
                ms(r["wait_ns"]), us(r["wait_ns"] / c if c else 0), us(r["wait_max_ns"]),
                ms(r["hold_ns"]), us(r["hold_ns"] / a if a else 0), us(r["hold_max_ns"]),
                frame(r["site"])))
    return out


def main():
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)   # `vadshim report F | head`
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    n = 0
    try:
        f = open(sys.argv[1], encoding="utf-8", errors="replace")
    except OSError as e:
        print("vadshim report: %s" % e, file=sys.stderr)
        return 2
    with f:
        for line in f:
            line = line.strip()
            if not line.startswith("{"):
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError:
                continue
            t = obj.get("type")
            out = []
            if t == "violation":
                out = violation(obj)
            elif t == "summary":
                out = ["summary (pid %s): %d distinct violations, %d occurrences, %d suppressed, %d edges%s" % (
                    obj.get("pid"), obj["distinct"], obj["occurrences"], obj["suppressed"], obj["edges"],
                    ", %d edges not recorded (raise max_edges=)" % obj["edges_lost"] if obj.get("edges_lost") else "")]
                for v in obj.get("violations", []):
                    out.append("  %s %s -> %s x%d%s" % (v["kind"], v.get("held_class"), v["class"], v["count"],
                                                        " (suppressed)" if v.get("suppressed") else ""))
            elif t == "graph":
                out = ["lock graph (pid %s): %d classes, %d edges" % (obj.get("pid"), len(obj["nodes"]), len(obj["edges"]))]
                for e in obj["edges"]:
                    out.append("  %s -> %s%s  first at %s" % (e["from_class"], e["to_class"],
                               "  [%s x%d]" % (e["violation"], e["violations"]) if e.get("violation") else "",
                               frame(e["site"])))
            elif t == "lockstat":
                out = lockstat(obj)
            else:
                continue
            n += 1
            print("\n".join(out))
            print()
    if not n:
        print("vadshim report: no vadshim JSON objects in %s (report_format=json)" % sys.argv[1], file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
