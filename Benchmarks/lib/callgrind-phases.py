#!/usr/bin/env python3
"""Orders the functions of a callgrind profile dumped in phases, for lld's --symbol-ordering-file.

    callgrind-phases.py REST_PART OTHER_PART... > order.txt

Each argument is one of callgrind's dump files, in the order they were written (callgrind_control
-d writes FILE.1, FILE.2, ...; the final part, written at exit, is FILE). Callgrind compresses
names across the parts of one run: `fn=(7) name` defines id 7 the first time, later lines say
`fn=(7)` only, so the parts are read in the order they were written whatever their rank below.

Printed: the functions that ran in REST_PART (the agent at rest: idle, scrapes, a few flows),
sorted by name, then those that ran only in the other parts, each part's new names sorted, in
the order given. Sorting by name groups each module's functions (mangled names start with the
module) and keeps the file's diffs readable; addresses without a symbol and callgrind's own
entries are left out. How many each part added goes to standard error.
"""
import re
import sys

DEFINITION = re.compile(r"^c?fn=\((\d+)\)(?: (.+))?$")


def functions_that_ran(path, names):
    ran = set()
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            m = DEFINITION.match(line.rstrip("\n"))
            if not m:
                continue
            ident, name = m.group(1), m.group(2)
            if name is not None:
                names[ident] = name
            if line.startswith("fn="):
                ran.add(ident)
    return ran


def keep(name):
    return not (re.fullmatch(r"0x[0-9a-f]+", name) or name == "(below main)")


def main():
    if len(sys.argv) < 2:
        sys.exit("usage: callgrind-phases.py REST_PART OTHER_PART...")
    rest_path, others = sys.argv[1], sys.argv[2:]
    written = sorted([rest_path] + others, key=dump_rank)
    names, ran = {}, {}
    for path in written:
        ran[path] = functions_that_ran(path, names)
    listed, counts = set(), []
    for path in [rest_path] + others:
        part = sorted({names[i] for i in ran[path] if i in names and keep(names[i])} - listed)
        listed.update(part)
        counts.append(str(len(part)))
        for name in part:
            print(name)
    print("functions per part, in the order printed: " + " ".join(counts), file=sys.stderr)


def dump_rank(path):
    """FILE.1, FILE.2, ... were written before FILE (the part written at exit)."""
    m = re.search(r"\.(\d+)$", path)
    return int(m.group(1)) if m else sys.maxsize


if __name__ == "__main__":
    main()
