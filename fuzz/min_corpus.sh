#!/bin/bash
# usage: fuzz/min_corpus.sh TARGET: fuzz/work/TARGET (what fuzzing grew) -> fuzz/corpus/TARGET,
# merged on edges and cut to at most 200 files by fuzz/trim_corpus.py
set -e
t=$1; cd "$(dirname "$0")/.."
rm -rf fuzz/corpus/$t /tmp/merge-$t /tmp/merge-$t.ctl /tmp/merge-$t.ctl2; mkdir -p fuzz/corpus/$t /tmp/merge-$t
bin=fuzz/target/x86_64-unknown-linux-gnu/release/$t
nice -n 5 $bin -merge=1 -use_counters=0 -use_value_profile=0 -timeout=10 -rss_limit_mb=2048 -merge_control_file=/tmp/merge-$t.ctl fuzz/corpus/$t fuzz/work/$t > fuzz/work/logs/merge-$t.log 2>&1
echo "$t merged: $(ls fuzz/corpus/$t | wc -l) files"
# control file of the merged set alone, then the greedy cut
mkdir -p /tmp/merge-$t/empty
nice -n 5 $bin -merge=1 -use_counters=0 -use_value_profile=0 -timeout=10 -rss_limit_mb=2048 -merge_control_file=/tmp/merge-$t.ctl2 /tmp/merge-$t/empty fuzz/corpus/$t >> fuzz/work/logs/merge-$t.log 2>&1
python3 fuzz/trim_corpus.py /tmp/merge-$t.ctl2 fuzz/corpus/$t 200
echo "$t kept: $(ls fuzz/corpus/$t | wc -l) files, $(du -sb fuzz/corpus/$t | cut -f1) bytes"
