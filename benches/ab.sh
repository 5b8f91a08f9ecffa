#!/usr/bin/env bash
# A/B of two hub builds on the load benchmark: benches/load.sh with each binary in turn, the
# old one first in odd pairs and second in even ones, in one sitting (this machine's speed
# drifts by more than most changes measure, so only alternating runs compare). Prints a row per
# run and a summary.
#
#   benches/ab.sh OLD_BIN NEW_BIN [PAIRS]      (PAIRS defaults to 3)
#
# Keep a copy of each build outside target/ (cargo overwrites target/release/meridian). The
# knobs of load.sh pass through (N, CONNS, DURATION, BASE_DURATION, …); BUILD=0 is implied, so
# build the hello world and sink examples once first (`cargo build --release --examples`).
set -euo pipefail
cd "$(dirname "$0")/.."

[ $# -ge 2 ] || { sed -n '2,10p' "$0" >&2; exit 2; }
OLD=$(realpath "$1"); NEW=$(realpath "$2"); PAIRS=${3:-3}
for b in "$OLD" "$NEW"; do [ -x "$b" ] || { echo "ab.sh: $b is not an executable" >&2; exit 2; }; done
export N=${N:-100000} DURATION=${DURATION:-20s} BASE_DURATION=${BASE_DURATION:-2s}
OUT=$(mktemp -d -t meridian-ab.XXXXXX)

# field FILE: steady transfers/s, ratio (steady), hub µs per transfer, hello world (the higher).
fields() {
    awk -F'|' '/^\| hub: `POST \/v1\/transfers` accepted \(202\), steady state/ {gsub(/[^0-9]/, "", $3); s=$3}
        /^\| ratio hub \/ hello/ {split($3, r, "×"); gsub(/ /, "", r[1]); ra=r[1]}
        /^\| baseline: actix-web hello world/ {gsub(/[^0-9]/, "", $3); h=$3}
        /^- CPU per accepted transfer: hub/ {match($0, /hub [0-9.]+/); c=substr($0, RSTART + 4, RLENGTH - 4)}
        END {printf "%s %s %s %s\n", s, ra, c, h}' "$1"
}

printf '| run | build | steady transfers/s | ratio (steady) | hub CPU per transfer | hello world |\n|---|---|---|---|---|---|\n'
for p in $(seq 1 "$PAIRS"); do
    # Each build goes first in every other pair: over 8 pairs, 4 each way round, the second
    # run of a pair measured 2.4 µs of hub CPU per transfer more than the first on average.
    order="old new"; [ $((p % 2)) -eq 0 ] && order="new old"
    for which in $order; do
        bin=$OLD; [ "$which" = new ] && bin=$NEW
        log="$OUT/$which.$p.txt"
        BUILD=0 HUB_BIN="$bin" benches/load.sh >"$log" 2>&1 ||
            { echo "ab.sh: load.sh failed ($log)" >&2; exit 1; }
        read -r s ra c h < <(fields "$log")
        printf '| %d | %s | %s | %s× | %s µs | %s /s |\n' "$p" "$which" "$s" "$ra" "$c" "$h"
        echo "$which $s $ra $c" >>"$OUT/summary"
    done
done
awk '{n[$1]++; s[$1]+=$2; r[$1]+=$3; c[$1]+=$4}
    END {for (w in n) printf "%s: mean %.0f transfers/s, ratio %.3f×, hub %.1f µs per transfer (%d runs)\n", w, s[w]/n[w], r[w]/n[w], c[w]/n[w], n[w]}' \
    "$OUT/summary" | sort -r
echo "logs: $OUT" >&2
