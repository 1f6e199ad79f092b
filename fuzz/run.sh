#!/bin/sh
# Runs every cargo fuzz target for SECONDS each (default 60), starting from the committed
# seeds, at the lowest priority. cargo fuzz needs nightly; RUSTC_BOOTSTRAP=1 lets the
# stable toolchain take its -Z flags. Corpora go to fuzz/corpus/ and crashes to
# fuzz/artifacts/ (both ignored by git). seeds/TARGET/ holds hand-written seeds and
# the inputs of past finds; seeds/TARGET.corpus a minimised corpus (`cargo fuzz cmin`),
# one base64 line per input, unpacked into corpus/TARGET/ here. tests/fuzz_replay.rs
# replays both in `cargo test`.
# Usage: fuzz/run.sh [SECONDS] [TARGET...]
set -eu
cd "$(dirname "$0")"
secs=${1:-60}
[ $# -gt 0 ] && shift
targets=${*:-host protocol config token cache_file}
export RUSTC_BOOTSTRAP=1
for t in $targets; do
    mkdir -p "corpus/$t"
    if [ -f "seeds/$t.corpus" ]; then
        n=0
        grep -v '^#' "seeds/$t.corpus" | while read -r line; do
            n=$((n + 1))
            printf '%s' "$line" | base64 -d > "corpus/$t/packed-$n"
        done
    fi
    dict=""
    case $t in
        host|protocol) dict="-dict=dict/ecr.dict" ;;
        config) dict="-dict=dict/config.dict" ;;
    esac
    echo "== $t: ${secs}s"
    nice -n 19 cargo fuzz run "$t" "corpus/$t" "seeds/$t" -- \
        -max_total_time="$secs" -print_final_stats=1 -timeout=10 -rss_limit_mb=4096 $dict
done
