#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Checks that the source tree keeps the shape docs/architecture.md gives it: who may include
# whom (the ```layout block there), no I/O in a pure folder, no include loop between modules.
"""Checks the include rules of botpulse's C sources.

    scripts/check-layout.py            check; exit 1 and say why when a rule is broken
    scripts/check-layout.py --figures  also print files per folder, the largest files, loops

A module is a .c file and its .h (collector/health/rules.c + rules.h); module A depends on
module B when a file of A includes B's header. The rules, read from docs/architecture.md:

  * a file may include headers of its own folder and of the folders its line names;
  * a folder marked pure includes no I/O header (sockets, threads, the database, MQTT, HTTP,
    files, logging, the clock);
  * no loop between modules: A -> B -> ... -> A (a loop makes both halves one module in
    disguise; move what both need into a module of its own, or forward-declare).
"""
import os
import re
import subprocess
import sys
from collections import defaultdict

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
DOC = "docs/architecture.md"
PRODUCT = ("agent", "collector", "common", "ctl")
# Headers that do I/O or reach outside the process: never in a pure folder.
IO_HEADERS = {
    "pthread.h", "unistd.h", "fcntl.h", "poll.h", "signal.h", "dirent.h", "spawn.h",
    "sys/socket.h", "sys/stat.h", "sys/random.h", "sys/eventfd.h", "netinet/in.h",
    "arpa/inet.h", "libpq-fe.h", "curl/curl.h", "microhttpd.h", "MQTTAsync.h",
    "MQTTClient.h", "sodium.h",
    # our own: the MQTT client, the thread-safe queue, logging, the clock, signing
    "mqtt.h", "queue.h", "log.h", "clock.h", "sign.h",
}
INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]', re.M)


def tracked_sources():
    out = subprocess.run(["git", "-C", ROOT, "ls-files", "--cached", "--others",
                          "--exclude-standard", "*.c", "*.h"],
                         check=True, capture_output=True, text=True).stdout
    return sorted(p for p in out.split() if p.split("/")[0] in PRODUCT
                  and os.path.exists(os.path.join(ROOT, p)))


def read_rules():
    """The ```layout block of the architecture doc: NODE [pure] -> NODE... per line."""
    text = open(os.path.join(ROOT, DOC), encoding="utf-8").read()
    m = re.search(r"```layout\n(.*?)```", text, re.S)
    if not m:
        sys.exit(f"check-layout: no ```layout block in {DOC}")
    rules, pure = {}, set()
    for line in m.group(1).splitlines():
        line = line.split("#")[0].strip()
        if not line:
            continue
        left, _, right = line.partition("->")
        words = left.split()
        node = words[0]
        if "pure" in words[1:]:
            pure.add(node)
        rules[node] = set(right.split())
    return rules, pure


def node_of(path, rules):
    """The rule that covers a file: the longest node name that is the path or a folder of it."""
    best = None
    for node in rules:
        if path == node or path.startswith(node + "/"):
            if best is None or len(node) > len(best):
                best = node
    return best


def module_of(path):
    return os.path.splitext(path)[0]


def resolve(includer, name, by_base, by_path):
    """The tracked header an #include "name" means: beside the includer, else by its name."""
    beside = os.path.normpath(os.path.join(os.path.dirname(includer), name))
    if beside in by_path:
        return beside, None
    found = by_base.get(os.path.basename(name), [])
    if "/" in name:
        found = [p for p in found if p.endswith("/" + name)]
    if len(found) > 1:
        return None, f'{includer}: "{name}" is ambiguous: {", ".join(found)}'
    return (found[0], None) if found else (None, None)


def loops(graph):
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index, low, on, stack, out, counter = {}, {}, set(), [], [], [0]
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter[0]
        counter[0] += 1
        stack.append(start)
        on.add(start)
        while work:
            v, it = work[-1]
            for w in it:
                if w not in index:
                    index[w] = low[w] = counter[0]
                    counter[0] += 1
                    stack.append(w)
                    on.add(w)
                    work.append((w, iter(sorted(graph.get(w, ())))))
                    break
                if w in on:
                    low[v] = min(low[v], index[w])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[v])
                if low[v] == index[v]:
                    comp = []
                    while True:
                        w = stack.pop()
                        on.discard(w)
                        comp.append(w)
                        if w == v:
                            break
                    if len(comp) > 1:
                        out.append(sorted(comp))
    return sorted(out)


def figures(files, cycles):
    per = defaultdict(int)
    for p in files:
        per[os.path.dirname(p)] += 1
    print("files per folder (.c and .h):")
    for d in sorted(per):
        print(f"  {per[d]:3d}  {d}/")
    every = subprocess.run(["git", "-C", ROOT, "ls-files", "--cached", "--others",
                            "--exclude-standard", "*.c", "*.h"],
                           check=True, capture_output=True, text=True).stdout.split()
    sizes = []
    for p in every:
        full = os.path.join(ROOT, p)
        if os.path.exists(full):
            with open(full, encoding="utf-8", errors="replace") as f:
                sizes.append((sum(1 for _ in f), p))
    print("largest files (lines):")
    for n, p in sorted(sizes, reverse=True)[:10]:
        print(f"  {n:5d}  {p}")
    print(f"include loops between modules: {len(cycles)}")
    for c in cycles:
        print("  " + ", ".join(c))


def main():
    want_figures = "--figures" in sys.argv[1:]
    files = tracked_sources()
    by_path = set(files)
    by_base = defaultdict(list)
    for p in files:
        if p.endswith(".h"):
            by_base[os.path.basename(p)].append(p)
    rules, pure = read_rules()
    problems = []
    graph = defaultdict(set)
    for p in files:
        node = node_of(p, rules)
        if node is None:
            problems.append(f"{p}: no line of the layout rule covers it ({DOC})")
        text = open(os.path.join(ROOT, p), encoding="utf-8", errors="replace").read()
        graph[module_of(p)]
        for kind, name in INCLUDE.findall(text):
            if node in pure and name in IO_HEADERS:
                shown = f'"{name}"' if kind == '"' else f"<{name}>"
                problems.append(f"{p}: includes {shown}, an I/O header, in pure {node}/")
            if kind != '"':
                continue
            target, err = resolve(p, name, by_base, by_path)
            if err:
                problems.append(err)
            if not target:
                continue
            if module_of(target) != module_of(p):
                graph[module_of(p)].add(module_of(target))
            tnode = node_of(target, rules)
            if node and tnode and tnode != node and tnode not in rules.get(node, ()):
                problems.append(f'{p}: includes "{name}" from {tnode}/, which {node} may not '
                                f"(rule: {node} -> {' '.join(sorted(rules[node])) or '(nothing)'})")
    cycles = loops(graph)
    for c in cycles:
        problems.append("include loop among " + ", ".join(c) + " (each reaches the others)")
    if want_figures:
        figures(files, cycles)
    for msg in problems:
        print("layout: " + msg, file=sys.stderr)
    if problems:
        print(f"layout: {len(problems)} problem(s); the rule is in {DOC} (```layout)",
              file=sys.stderr)
        return 1
    print(f"layout: {len(files)} files follow {DOC}; no include loop")
    return 0


if __name__ == "__main__":
    sys.exit(main())
