#!/usr/bin/env python3
"""Keeps a small corpus: at most MAX files (default 200) that cover as many edges as the whole.

libFuzzer's merge keeps every file that adds any feature, smallest first, which leaves hundreds
of files. This reads a merge control file (libFuzzer -merge=1 -merge_control_file=FILE) and picks
files greedily by the new edges each adds (ties: the smaller file), then deletes the rest.

usage: trim_corpus.py CONTROL_FILE CORPUS_DIR [MAX]
"""
import os
import sys


def main():
    control, corpus = sys.argv[1], sys.argv[2]
    limit = int(sys.argv[3]) if len(sys.argv) > 3 else 200
    lines = open(control).read().splitlines()
    n = int(lines[0])
    names = lines[2:2 + n]
    cov = {}
    for line in lines[2 + n:]:
        parts = line.split()
        if parts and parts[0] == "COV":
            cov[int(parts[1])] = set(parts[2:])
    everything = set().union(*cov.values()) if cov else set()
    covered, keep = set(), []
    while len(keep) < limit:
        best = max(
            cov,
            key=lambda i: (len(cov[i] - covered), -os.path.getsize(names[i])),
            default=None,
        )
        if best is None or not cov[best] - covered:
            break
        keep.append(best)
        covered |= cov.pop(best)
    kept = {os.path.basename(names[i]) for i in keep}
    for f in os.listdir(corpus):
        if f not in kept:
            os.remove(os.path.join(corpus, f))
    print(f"{len(kept)} files keep {len(covered)} of {len(everything)} edges")


if __name__ == "__main__":
    main()
