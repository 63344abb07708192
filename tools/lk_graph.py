#!/usr/bin/env python3
"""Render the observed lock-order graph of a vadshim JSON report to DOT (and SVG).

usage: lk_graph.py REPORT [-o PREFIX] [--no-svg]

REPORT is a log written with VADSHIM_OPTIONS=report_format=json (stderr
captured to a file, or log_path's PATH.PID).  The runtime prints one
{"type":"graph",...} line at exit; when the file holds several (several
processes), they are merged by class name.  Writes PREFIX.dot (default:
REPORT.dot) and, when graphviz's `dot` is on PATH, PREFIX.svg.  Nodes are
lock classes (rank, acquisitions); an edge A -> B means B was acquired
while A was held, labelled with the site that first did it; edges that
violate the ranks or close a cycle are red.
"""
import argparse
import json
import shutil
import subprocess
import sys


def load_graphs(path):
    graphs = []
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            line = line.strip()
            if not line.startswith("{"):
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError:
                continue
            if obj.get("type") == "graph":
                graphs.append(obj)
    return graphs


def merge(graphs):
    nodes, edges = {}, {}
    for g in graphs:
        for n in g.get("nodes", []):
            cur = nodes.setdefault(n["class"], {"rank": n.get("rank"), "acq": 0})
            cur["acq"] += n.get("acquisitions") or 0
        for e in g.get("edges", []):
            key = (e["from_class"], e["to_class"])
            cur = edges.setdefault(key, dict(e, violations=0))
            cur["violations"] += e.get("violations") or 0
            if e.get("violation") and not cur.get("violation"):
                cur["violation"] = e["violation"]
    return nodes, edges


def q(s):
    s = str(s).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return '"' + s + '"'


def site_label(site):
    if not site:
        return "?"
    where = site.get("func") or (site.get("module") or "?") + "+" + site.get("pc", "")
    if site.get("file"):
        where += "\n%s:%s" % (site["file"].rsplit("/", 1)[-1], site.get("line"))
    return where


def to_dot(nodes, edges):
    out = ["digraph vadshim_locks {",
           "  rankdir=LR;",
           '  node [shape=box, style=rounded, fontname="monospace"];',
           '  edge [fontname="monospace", fontsize=9];']
    for name, n in sorted(nodes.items(), key=lambda kv: (kv[1]["rank"] is None, kv[1]["rank"] or 0, kv[0])):
        rank = "unranked" if n["rank"] is None else "rank %d" % n["rank"]
        out.append("  %s [label=%s];" % (q(name), q("%s\n%s\n%d acquisitions" % (name, rank, n["acq"]))))
    for (a, b), e in sorted(edges.items()):
        label = site_label(e.get("site"))
        attrs = ["label=%s" % q(label)]
        if e.get("violation"):
            attrs += ["color=red", "fontcolor=red", "penwidth=2"]
            attrs[0] = "label=%s" % q("%s x%d\n%s" % (e["violation"], e["violations"], label))
        out.append("  %s -> %s [%s];" % (q(a), q(b), ", ".join(attrs)))
    out.append("}")
    return "\n".join(out) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("report")
    ap.add_argument("-o", "--output", help="output prefix (default: REPORT)")
    ap.add_argument("--no-svg", action="store_true")
    args = ap.parse_args()
    try:
        graphs = load_graphs(args.report)
    except OSError as e:
        print("vadshim graph: %s" % e, file=sys.stderr)
        return 2
    if not graphs:
        print("vadshim graph: no graph in %s (run with VADSHIM_OPTIONS=report_format=json; "
              "the graph is printed at exit)" % args.report, file=sys.stderr)
        return 1
    nodes, edges = merge(graphs)
    prefix = args.output or args.report
    dot_path = prefix + ".dot"
    with open(dot_path, "w", encoding="utf-8") as f:
        f.write(to_dot(nodes, edges))
    bad = sum(1 for e in edges.values() if e.get("violation"))
    print("%s: %d classes, %d edges, %d violating" % (dot_path, len(nodes), len(edges), bad))
    if not args.no_svg:
        dot = shutil.which("dot")
        if dot:
            svg_path = prefix + ".svg"
            subprocess.run([dot, "-Tsvg", "-o", svg_path, dot_path], check=True)
            print(svg_path)
        else:
            print("(graphviz `dot` not found: no SVG)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
