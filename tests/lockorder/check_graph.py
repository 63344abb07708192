#!/usr/bin/env python3
"""Run one lockorder scenario (scenarios.c) and check what a user sees.

usage: check_graph.py SCENARIOS_BINARY CASE [--lines] [--tools DIR]

Each CASE runs the program with the options a user would set and checks
the report text (human), the JSON lines (report_format=json, parsed with
json), the exit code, and for `graph` the DOT/SVG that tools/lk_graph.py
renders.  Prints the output, one FAIL line per failed check, and "ok".
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

FRAME = re.compile(r"^    #(\d+) 0x[0-9a-f]+ (.*)$")
errors = []


def expect(cond, what):
    if not cond:
        errors.append(what)


def run(prog, case, opts="", arg=None):
    env = dict(os.environ)
    env.pop("VADSHIM_OPTIONS", None)
    if opts:
        env["VADSHIM_OPTIONS"] = opts
    r = subprocess.run([prog, arg or case], capture_output=True, text=True, timeout=120, env=env)
    sys.stdout.write("$ VADSHIM_OPTIONS=%s %s %s (exit %d)\n%s%s" % (
        opts, os.path.basename(prog), arg or case, r.returncode, r.stdout, r.stderr))
    return r.returncode, r.stdout, r.stderr


def block(lines, header):
    """Frames printed under the first line that starts with header."""
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


def jsonl(text):
    objs = []
    for line in text.splitlines():
        if line.startswith("{"):
            objs.append(json.loads(line))      # every JSON line must parse
    return objs


def check_cycle_human(err, code, ncls, cycle_line, edges, acq_fn, want_lines, occurrences=1, nheld=1):
    """edges: [(from, to, function that first took it)] for the old edges."""
    lines = err.splitlines()
    expect(code == 66, "exit code %d, expected 66" % code)
    expect(err.count("WARNING:") == 1, "exactly one report")
    expect(re.search(r"^==vadshim== WARNING: lock-order violation \(cycle\) in thread \d+$", err, re.M),
           "cycle report header")
    expect("  cycle of %d lock classes: %s" % (ncls, cycle_line) in lines, "cycle line: " + cycle_line)
    acq = block(lines, "  acquiring ")
    expect(acq and acq[0].startswith(acq_fn + "+0x"), "acquisition stack starts in %s" % acq_fn)
    held = block(lines, "  while holding ")
    expect(held is not None and len(held) >= 1, "held lock's acquisition site printed")
    tids = set(re.findall(r"in thread (\d+)", err))
    for a, b, fn in edges:
        s = block(lines, "  edge %s -> %s, first seen in thread " % (a, b))
        expect(s and s[0].startswith(fn + "+0x"), "edge %s -> %s: first-seen stack in %s" % (a, b, fn))
        h = block(lines, "  edge %s -> %s, first seen in thread %s" % (a, b, ""))
        expect(any(l.startswith("  edge %s -> %s, first seen in thread " % (a, b)) and "held" in l
                   for l in lines), "edge %s -> %s: where %s was held" % (a, b, a))
        if want_lines and s:
            expect(re.search(r"scenarios\.c:\d+$", s[0]), "edge frame has file:line: %s" % s[0])
    expect(len(tids) >= 1, "thread ids printed")
    expect(re.search(r"^  locks held by this thread \(%d\): " % nheld, err, re.M), "held list")
    expect(lines.count("==vadshim== end of report") == 1, "report end line")
    a, b = cycle_line.split(" -> ")[:2]
    expect(re.search(r"^==vadshim== SUMMARY: 1 distinct lock violation \(%d occurrences?\): cycle %s -> %s x%d$"
                     % (occurrences, a, b, occurrences), err, re.M), "summary line with count")


def case_cycle3(prog, want_lines):
    code, out, err = run(prog, "cycle3")
    check_cycle_human(err, code, 3, "C -> A -> B -> C",
                      [("A", "B", "take_a_then_b"), ("B", "C", "take_b_then_c")],
                      "take_c_then_a", want_lines)
    tids = re.findall(r"first seen in thread (\d+)", err)
    expect(len(set(tids)) == 2, "the two old edges were first seen in two threads")


def case_abba(prog, want_lines):
    code, out, err = run(prog, "abba")
    check_cycle_human(err, code, 2, "B -> A -> B", [("A", "B", "take_a_then_b")],
                      "take_b_then_a", want_lines)


def case_dedup(prog, want_lines):
    code, out, err = run(prog, "dedup")
    check_cycle_human(err, code, 2, "B -> A -> B", [("A", "B", "take_a_then_b")],
                      "take_b_then_a", want_lines, occurrences=5)


def case_silent(prog, name):
    code, out, err = run(prog, name)
    expect(code == 0, "exit code %d, expected 0" % code)
    expect(err == "", "no report at all")


def case_relock(prog, want_lines):
    code, out, err = run(prog, "relock")
    check_cycle_human(err, code, 2, "W -> M -> W", [("M", "W", "m_then_w")],
                      "relock_under_w", want_lines)


def case_gate(prog, want_lines):
    code, out, err = run(prog, "gate")
    check_cycle_human(err, code, 2, "Q -> P -> Q", [("P", "Q", "gated")], "gated", want_lines,
                      nheld=2)
    expect(re.search(r"^  note: every edge of this cycle was first seen while a lock of class G was held",
                     err, re.M), "gate-lock note names G")
    expect(re.search(r'^  also holding "g" \(class G, unranked\), taken at:', err, re.M),
           "the other held lock (G) and where it was taken")


def case_json(prog, want_lines):
    code, out, err = run(prog, "cycle3", "report_format=json")
    expect(code == 66, "exit code %d, expected 66" % code)
    try:
        objs = jsonl(err)
    except json.JSONDecodeError as e:
        expect(False, "a JSON line does not parse: %s" % e)
        return
    expect(all(l.startswith("{") for l in err.splitlines()), "every line is a JSON object")
    viols = [o for o in objs if o["type"] == "violation"]
    expect(len(viols) == 1, "one violation object")
    if viols:
        v = viols[0]
        expect(v["kind"] == "cycle" and isinstance(v["tid"], int), "kind and tid")
        expect(v["acquiring"]["class"] == "A" and v["acquiring"]["rank"] is None, "acquiring class A, unranked")
        expect(v["acquiring"]["stack"][0]["func"] == "take_c_then_a", "acquiring stack symbolized")
        expect(v["held"][0]["class"] == "C", "held list")
        c = v["conflicts"][0]
        expect(c["kind"] == "cycle" and c["length"] == 3, "cycle of three")
        expect([e["from"] for e in c["edges"]] == ["C", "A", "B"], "cycle edges in order")
        expect(all(e["stack"] for e in c["edges"]), "every edge has its first-seen stack")
        expect([e["stack"][0]["func"] for e in c["edges"][1:]] == ["take_a_then_b", "take_b_then_c"],
               "first-seen stacks name the functions")
        expect(len({e["tid"] for e in c["edges"]}) == 3, "three threads took the three edges")
        if want_lines:
            expect(c["edges"][1]["stack"][0]["file"].endswith("scenarios.c") and
                   c["edges"][1]["stack"][0]["line"] > 0, "file and line in JSON frames")
    summ = [o for o in objs if o["type"] == "summary"]
    expect(len(summ) == 1 and summ[0]["distinct"] == 1 and summ[0]["occurrences"] == 1,
           "summary object")
    graph = [o for o in objs if o["type"] == "graph"]
    expect(len(graph) == 1, "one graph object at exit")
    if graph:
        g = graph[0]
        names = {n["class"]: n for n in g["nodes"]}
        expect(set(names) >= {"A", "B", "C"}, "graph nodes")
        expect(all(names[k]["acquisitions"] == 2 for k in "ABC"), "node acquisition counts")
        red = [(e["from_class"], e["to_class"]) for e in g["edges"] if e["violation"]]
        expect(red == [("C", "A")], "exactly the closing edge is marked: %s" % red)


def case_suppress(prog, want_lines):
    with tempfile.NamedTemporaryFile("w", suffix=".supp", delete=False) as f:
        f.write("# the C -> A order is taken by design\nlockorder:take_c_*\n")
        path = f.name
    try:
        code, out, err = run(prog, "cycle3", "suppressions=" + path)
        expect(code == 0, "suppressed: exit code %d, expected 0" % code)
        expect(err == "", "suppressed: nothing printed")
        code, out, err = run(prog, "cycle3", "suppressions=%s:report_format=json" % path)
        summ = [o for o in jsonl(err) if o["type"] == "summary"]
        expect(code == 0 and summ and summ[0]["suppressed"] == 1 and summ[0]["distinct"] == 0,
               "suppressed: counted in the JSON summary, exit code 0")
        expect(not [o for o in jsonl(err) if o["type"] == "violation"], "suppressed: no violation object")
    finally:
        os.unlink(path)
    with tempfile.NamedTemporaryFile("w", suffix=".supp", delete=False) as f:
        f.write("lockorder:nothing_matches_this\n")
        path = f.name
    try:
        code, out, err = run(prog, "cycle3", "suppressions=" + path)
        expect(code == 66 and err.count("WARNING:") == 1, "a pattern that does not match suppresses nothing")
    finally:
        os.unlink(path)


def case_full(prog, want_lines):
    code, out, err = run(prog, "full", "max_edges=2")
    expect(code == 0, "exit code %d, expected 0" % code)
    expect("still running" in out, "the program keeps running")
    lines = err.splitlines()
    expect(len(lines) == 1 and "lock order graph full (2 edges)" in lines[0] and "max_edges=" in lines[0],
           "exactly one line naming max_edges=")


def case_vfull(prog, want_lines):
    code, out, err = run(prog, "twocycles", arg="twocycles")
    expect(err.count("WARNING:") == 2, "two distinct cycles: two reports")
    code, out, err = run(prog, "twocycles", "max_violations=1", arg="twocycles")
    expect(err.count("WARNING:") == 1, "max_violations=1: one report")
    full = [l for l in err.splitlines() if "max_violations=" in l]
    expect(len(full) == 1 and "more than 1 distinct lock violations" in full[0],
           "exactly one line naming max_violations=")
    expect(re.search(r"^==vadshim== SUMMARY: .*; 1 more not recorded \(table full\)$", err, re.M),
           "the summary counts the violation not recorded")
    expect(code == 66, "exit code 66 (got %d)" % code)


def case_lockstat(prog, want_lines):
    code, out, err = run(prog, "lockstat", "lockstat=1:report_format=json")
    expect(code == 0, "exit code %d" % code)
    st = [o for o in jsonl(err) if o["type"] == "lockstat"]
    expect(len(st) == 1, "one lockstat object at exit")
    if not st:
        return
    cls = {c["class"]: c for c in st[0]["classes"]}
    expect(cls.get("S", {}).get("acquisitions") == 1000, "S: exactly 1000 acquisitions")
    expect(cls.get("S", {}).get("contentions") == 0, "S: single thread, no contention")
    h = cls.get("H", {})
    expect(h.get("acquisitions") == 200000, "H: exactly 200000 acquisitions")
    expect(h.get("contentions", 0) > 0, "H: two threads hammering contend")
    expect(h.get("wait_ns", 0) > 0 and h.get("wait_max_ns", 0) <= h.get("wait_ns", 0), "H: wait time")
    expect(h.get("hold_ns", 0) > 0 and h.get("hold_max_ns", 0) <= h.get("hold_ns", 0), "H: hold time")
    expect(st[0]["classes"][0]["class"] == "H", "sorted by contention")
    sites = [s for s in st[0]["sites"] if s["class"] == "S"]
    expect(len(sites) == 1 and sites[0]["acquisitions"] == 1000 and
           sites[0]["site"]["func"] == "stat_site_loop", "one S site, symbolized, 1000 acquisitions")
    code, out, err = run(prog, "lockstat", "lockstat=1")
    expect(re.search(r"^==vadshim== lockstat \(at exit\): \d+ lock classes", err, re.M), "human table header")
    expect(re.search(r"^  H +200000 +\d+ ", err, re.M), "human table row for H")
    expect(re.search(r"^  S +1000 +0 .*stat_site_loop\+0x", err, re.M), "human site row for S")


def case_graph(prog, want_lines, tools):
    code, out, err = run(prog, "cycle3", "report_format=json")
    d = tempfile.mkdtemp()
    try:
        rep = os.path.join(d, "report.json")
        with open(rep, "w") as f:
            f.write(err)
        r = subprocess.run([sys.executable, os.path.join(tools, "lk_graph.py"), rep, "-o",
                            os.path.join(d, "g")], capture_output=True, text=True, timeout=60)
        sys.stdout.write(r.stdout + r.stderr)
        expect(r.returncode == 0, "lk_graph.py exit %d" % r.returncode)
        dot = open(os.path.join(d, "g.dot")).read()
        sys.stdout.write(dot)
        red = re.findall(r'^  "(\w+)" -> "(\w+)" \[.*color=red', dot, re.M)
        expect(red == [("C", "A")], "DOT: the closing edge C -> A is red: %s" % red)
        expect(len(re.findall(r" -> ", dot)) == 3, "DOT: three edges")
        expect('"A" [label="A\\nunranked\\n2 acquisitions"]' in dot, "DOT: node label with acquisitions")
        if shutil.which("dot"):
            svg = open(os.path.join(d, "g.svg")).read()
            expect("<svg" in svg and 'stroke="red"' in svg, "SVG rendered with a red edge")
        r = subprocess.run([sys.executable, os.path.join(tools, "lk_report.py"), rep],
                           capture_output=True, text=True, timeout=60)
        expect(r.returncode == 0 and "cycle of 3 classes: C -> A -> B -> C" in r.stdout,
               "lk_report.py pretty-prints the report")
    finally:
        shutil.rmtree(d)


def main():
    prog, case = sys.argv[1], sys.argv[2]
    want_lines = "--lines" in sys.argv[3:]
    tools = sys.argv[sys.argv.index("--tools") + 1] if "--tools" in sys.argv else None
    if case in ("reentry", "trylock", "condwait"):
        case_silent(prog, case)
    elif case == "graph":
        case_graph(prog, want_lines, tools)
    else:
        globals()["case_" + case](prog, want_lines)
    for e in errors:
        print("FAIL:", e)
    print("ok" if not errors else "%d check(s) failed" % len(errors))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
