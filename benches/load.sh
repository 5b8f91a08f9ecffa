#!/usr/bin/env bash
# Load benchmark of the Meridian HTTP API, beside a plain actix-web hello-world baseline
# measured in the same run on the same machine.
#
#   benches/load.sh
#
# Knobs (environment):
#   N=100000        transfer requests pre-generated (each body is sent exactly once)
#   BATCH=5000      locks per POST /v1/dev/lock-batch call
#   THREADS=2       wrk threads           CONNS=256  wrk connections (at 64 the hub is bound by commit latency)
#   DURATION=20s    hub run limit (the window ends once all N are answered; wrk itself sleeps out
#                   the full duration before it prints)
#   BASE_DURATION=10s  each hello-world run (one before the hub run, one after; the higher counts),
#                   and the floor run (the hub's requests against examples/sink, which does no work)
#   SETTLE=30       most seconds to wait for deliveries after the run (GET /v1/stats)
#   DATA_PARENT=DIR where the hub's data directory is created (default: under $TMPDIR)
#   BUILD=0         skip the cargo build (reuse target/release from an earlier run)
#   KEEP=1          keep the work directory (request file, logs)
#   HUB_BIN=PATH    the hub binary to measure (default target/release/meridian; benches/ab.sh
#                   sets it to compare two builds)
#
# Every transfer needs its own evidence: a repeated body is answered 200 "existing" and is not
# an accepted transfer. Only 202 counts as accepted; every other status is tallied apart.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD

N=${N:-100000}
BATCH=${BATCH:-5000}
THREADS=${THREADS:-2}
CONNS=${CONNS:-256}
DURATION=${DURATION:-20s}
BASE_DURATION=${BASE_DURATION:-10s}
SETTLE=${SETTLE:-30}
KEY="meridian-demo-key"

say() { printf '\n== %s\n' "$*" >&2; }
die() { printf 'load.sh: %s\n' "$*" >&2; exit 1; }

WORK=$(mktemp -d -t meridian-load.XXXXXX)
PIDS=()
cleanup() {
    local p
    for p in "${PIDS[@]:-}"; do
        [ -n "$p" ] && kill "$p" 2>/dev/null || true
    done
    for p in "${PIDS[@]:-}"; do
        [ -n "$p" ] && wait "$p" 2>/dev/null || true
    done
    if [ "${KEEP:-0}" = 1 ]; then
        echo "work directory kept: $WORK" >&2
    else
        rm -rf "$WORK" "${DATA_CLEAN:-}"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

wait_http() { # url pid name
    local i
    for i in $(seq 1 150); do
        curl -sf -o /dev/null "$1" && return 0
        kill -0 "$2" 2>/dev/null || die "$3 exited during start-up (log: $WORK/$3.log)"
        sleep 0.1
    done
    die "$3 did not answer $1 within 15 s"
}

# --- 1. build -------------------------------------------------------------------------------
if [ "${BUILD:-1}" != 0 ]; then
    say "cargo build --release --bin meridian --example hello --example sink"
    cargo build --release --bin meridian --example hello --example sink
fi

# --- 2. load generator ----------------------------------------------------------------------
if ! command -v wrk >/dev/null 2>&1; then
    say "installing wrk (Debian package)"
    if [ "$(id -u)" = 0 ]; then SUDO=(); else SUDO=(sudo -n); fi
    "${SUDO[@]}" apt-get install -y wrk >/dev/null ||
        { "${SUDO[@]}" apt-get update >/dev/null && "${SUDO[@]}" apt-get install -y wrk >/dev/null; } ||
        die "could not install wrk"
fi
command -v python3 >/dev/null || die "python3 is needed to split the generated requests"

# --- 3. baseline: actix-web hello world, before the hub (and again after it) ---------------------
BASE_CMD="wrk -t$THREADS -c$CONNS -d$BASE_DURATION --latency http://127.0.0.1:PORT/"
hello_run() { # before|after -> $WORK/wrk-hello-$1.txt
    local port pid
    port=$(free_port)
    say "baseline ($1 the hub run): examples/hello on 127.0.0.1:$port; ${BASE_CMD/PORT/$port}"
    "$ROOT/target/release/examples/hello" "127.0.0.1:$port" >"$WORK/hello-$1.log" 2>&1 &
    pid=$!
    PIDS+=("$pid")
    wait_http "http://127.0.0.1:$port/" "$pid" "hello-$1"
    wrk -t"$THREADS" -c"$CONNS" -d"$BASE_DURATION" --latency "http://127.0.0.1:$port/" |
        tee "$WORK/wrk-hello-$1.txt"
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}
hello_run before

# --- 4. hub -------------------------------------------------------------------------------------
HUB_PORT=$(free_port)
HUB="http://127.0.0.1:$HUB_PORT"
DATA=$(mktemp -d -p "${DATA_PARENT:-$WORK}" meridian-data.XXXX)
[ -z "${DATA_PARENT:-}" ] || DATA_CLEAN=$DATA
say "starting meridian serve on 127.0.0.1:$HUB_PORT (data $DATA)"
"${HUB_BIN:-$ROOT/target/release/meridian}" serve --listen "127.0.0.1:$HUB_PORT" --data-dir "$DATA" \
    --config "$ROOT/config" >"$WORK/meridian.log" 2>&1 &
HUB_PID=$!
PIDS+=("$HUB_PID")
wait_http "$HUB/healthz" "$HUB_PID" meridian

# --- 5. pre-generate N transfer requests -----------------------------------------------------
REQS="$WORK/requests.jsonl"
say "generating $N transfer requests ($BATCH per lock-batch call)"
gen_start=$(date +%s.%N)
python3 - "$HUB" "$KEY" "$N" "$BATCH" "$REQS" <<'PY'
import json, sys, urllib.request
hub, key, n, batch, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
done = 0
with open(out, "w") as f:
    while done < n:
        count = min(batch, n - done)
        body = json.dumps({"source": "mock-a", "destination": "mock-b", "sender": "s",
                           "recipient": "r", "asset": "CNY", "amount": "1",
                           "count": count}).encode()
        req = urllib.request.Request(hub + "/v1/dev/lock-batch", data=body, method="POST",
                                     headers={"Authorization": "Bearer " + key,
                                              "Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=120) as r:
            arr = json.load(r)
        if len(arr) != count:
            sys.exit(f"lock-batch answered {len(arr)} requests, asked for {count}")
        for t in arr:
            f.write(json.dumps(t, separators=(",", ":")))
            f.write("\n")
        done += count
PY
gen_end=$(date +%s.%N)
lines=$(wc -l <"$REQS")
[ "$lines" -eq "$N" ] || die "expected $N request lines, got $lines"
uniq_lines=$(sort -u "$REQS" | wc -l)
[ "$uniq_lines" -eq "$N" ] || die "request bodies are not all distinct ($uniq_lines of $N)"
printf 'generated %d distinct requests (%s MB) in %.1f s\n' "$N" \
    "$(( $(stat -c %s "$REQS") / 1048576 ))" "$(echo "$gen_end - $gen_start" | bc -l)" >&2

# --- 6. wrk against POST /v1/transfers ------------------------------------------------------
LUA="$WORK/transfers.lua"
cat >"$LUA" <<'LUA'
-- Sends every request of this thread's file (requests.jsonl.<t>) exactly once, in order. Once
-- a thread has handed out its share it sends only GET /healthz fillers (not counted) and stops
-- as soon as every one of its requests has been answered. Counts statuses (202 = accepted).
-- No delay() on purpose: with one, wrk re-arms every connection through a timer and two
-- epoll_ctl calls per request (about 4.5 us of wrk CPU per request here), which the
-- hello-world run does not pay. So thread 0 starts sending while wrk still loads the later
-- threads' files: the window (first request sent to last answer) includes that loading, which
-- only lowers the figure. wrk calls request() once on thread 0 before the run only to check
-- the request parses, which must not use up a line.
local ffi = require("ffi")
ffi.cdef[[
typedef struct { long tv_sec; long tv_nsec; } mer_timespec;
int clock_gettime(int clk, mer_timespec *tp);
]]
local ts = ffi.new("mer_timespec")
local function now()                  -- CLOCK_MONOTONIC, seconds; same clock in every thread
  ffi.C.clock_gettime(1, ts)
  return tonumber(ts.tv_sec) + tonumber(ts.tv_nsec) * 1e-9
end

-- setup/done environment
local threads = {}
local next_id = 0
function setup(thread)
  thread:set("tid", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

-- running environment (one per thread)
local reqs, nreqs, sent, answered = {}, 0, 0, 0
local filler
local verify_call = nil
statuses = {}          -- status code (as string) -> count, read back in done()
accepted = 0
acc_times = {}         -- when each 202 arrived (for the steady-state window)
t_first, t_last = 0, 0
share = 0

function init(args)
  local headers = {
    ["Authorization"] = "Bearer " .. args[2],
    ["Content-Type"] = "application/json",
  }
  for line in io.lines(args[1] .. "." .. tid) do
    nreqs = nreqs + 1
    reqs[nreqs] = wrk.format("POST", "/v1/transfers", headers, line)
  end
  share = nreqs
  filler = wrk.format("GET", "/healthz", {}, nil)
  verify_call = (tid == 0)
end

function request()
  if verify_call then verify_call = false; return reqs[1] or filler end  -- wrk's parse check
  if sent >= nreqs then return filler end  -- share handed out: wait for the last answers
  if sent == 0 then t_first = now() end
  sent = sent + 1
  return reqs[sent]
end

function response(status, headers, body)
  if status == 200 and body == '{"status":"ok"}' then return end  -- filler, not a transfer
  answered = answered + 1
  local k = tostring(status)
  statuses[k] = (statuses[k] or 0) + 1
  t_last = now()
  if status == 202 then accepted = accepted + 1; acc_times[accepted] = t_last end
  if answered >= nreqs then wrk.thread:stop() end
end

function done(summary, latency, requests)
  local acc, answered_all, first, last, shares = 0, 0, nil, 0, 0
  local tally = {}
  for _, t in ipairs(threads) do
    acc = acc + t:get("accepted")
    shares = shares + t:get("share")
    local f, l = t:get("t_first"), t:get("t_last")
    if f > 0 and (first == nil or f < first) then first = f end
    if l > last then last = l end
    for k, v in pairs(t:get("statuses")) do
      tally[k] = (tally[k] or 0) + v
      answered_all = answered_all + v
    end
  end
  local keys = {}
  for k in pairs(tally) do table.insert(keys, k) end
  table.sort(keys)
  local parts = {}
  for _, k in ipairs(keys) do table.insert(parts, k .. "=" .. tally[k]) end
  local window = (first and last > first) and (last - first) or (summary.duration / 1e6)
  -- Steady state: from when the last thread started sending to when the first one had all
  -- its answers (before, one thread runs while wrk still loads the other's requests; after,
  -- one finishes its share while the other still sends). 202s that arrived in that window.
  local s_start, s_end, s_acc = 0, math.huge, 0
  for _, t in ipairs(threads) do
    s_start = math.max(s_start, t:get("t_first"))
    s_end = math.min(s_end, t:get("t_last"))
  end
  if s_end > s_start then
    for _, t in ipairs(threads) do
      for _, at in ipairs(t:get("acc_times")) do
        if at >= s_start and at <= s_end then s_acc = s_acc + 1 end
      end
    end
  end
  io.write(string.format("RESULT steady_s=%.3f steady_accepted=%d\n", math.max(0, s_end - s_start), s_acc))
  io.write(string.format("RESULT requests=%d answered=%d accepted=%d window_s=%.3f wrk_duration_s=%.3f p50_ms=%.3f p99_ms=%.3f exhausted=%s\n",
    shares, answered_all, acc, window, summary.duration / 1e6,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    tostring(answered_all >= shares)))
  io.write(string.format("RESULT errors connect=%d read=%d write=%d timeout=%d\n",
    summary.errors.connect, summary.errors.read, summary.errors.write, summary.errors.timeout))
  io.write("RESULT statuses " .. table.concat(parts, " ") .. "\n")
end
LUA

# One file per wrk thread: thread t sends lines t+1, t+1+THREADS, ... of the request file.
python3 - "$REQS" "$THREADS" <<'PY'
import sys
src, n = sys.argv[1], int(sys.argv[2])
outs = [open(f"{src}.{t}", "w") for t in range(n)]
with open(src) as f:
    for i, line in enumerate(f):
        outs[i % n].write(line)
for o in outs:
    o.close()
PY
HUB_CMD="wrk -t$THREADS -c$CONNS -d$DURATION --latency -s transfers.lua $HUB/v1/transfers -- requests.jsonl $KEY"
cpu_s() { awk '{print ($14 + $15) / '"$(getconf CLK_TCK)"'}' "/proc/$1/stat"; }
say "hub: $HUB_CMD"
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
# Commit-log counters (Prometheus summaries: _sum and _count) before and after, for the report.
log_counters() {
    curl -sf "$HUB/metrics" | awk '/^meridian_log_(fsync_seconds|batch_entries)_(sum|count)[ {]/ {print $1, $NF}' || true
}
log_counters >"$WORK/metrics0.txt"
cpu0=$(cpu_s "$HUB_PID")
( wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency -s "$LUA" "$HUB/v1/transfers" \
    -- "$REQS" "$KEY"; times ) | tee "$WORK/wrk-hub.txt"
# wrk's own CPU (user + system, from the subshell's `times`: its second line is the children's).
mins_s() { echo "$1" | sed -E 's/^([0-9]+)m([0-9.]+)s$/\1 * 60 + \2/' | bc -l; }
read -r W_USER W_SYS < <(grep -E '^[0-9]+m[0-9.]+s [0-9]+m[0-9.]+s$' "$WORK/wrk-hub.txt" | tail -1)
WRK_CPU=$(echo "$(mins_s "$W_USER") + $(mins_s "$W_SYS")" | bc -l)

# One value from the RESULT lines transfers.lua printed into a file (keys are unique across them).
result() { grep '^RESULT ' "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }
# Accepted per second in steady state (both wrk threads sending, see transfers.lua: the whole
# run includes wrk loading its second thread's requests while the first already sends), or over
# the whole run (first request sent to last answer) when the steady window is too short.
steady_rate() {
    local win acc
    win=$(result "$1" steady_s)
    acc=$(result "$1" steady_accepted)
    if [ "$(echo "$win > 0.5 && $acc > 0" | bc -l)" = 1 ]; then
        echo "$acc / $win" | bc -l
    else
        echo "$(result "$1" accepted) / $(result "$1" window_s)" | bc -l
    fi
}
res() { result "$WORK/wrk-hub.txt" "$1"; }
H_REQ=$(res requests); H_ANS=$(res answered); H_ACC=$(res accepted)
H_WIN=$(res window_s); H_DUR=$(res wrk_duration_s)
H_P50=$(res p50_ms); H_P99=$(res p99_ms); H_EXH=$(res exhausted)
H_TALLY=$(sed -n 's/^RESULT statuses //p' "$WORK/wrk-hub.txt")
H_ERR=$(sed -n 's/^RESULT errors //p' "$WORK/wrk-hub.txt")
[ -n "$H_ACC" ] || die "wrk printed no result (see above)"
[ "$H_ACC" -gt 0 ] || die "no transfer was accepted (statuses: $H_TALLY; hub log: $WORK/meridian.log)"
# Accepted transfers per second: 202s over the time the requests were in flight (first request
# sent to last answer); that is wrk's duration unless all N were answered before it ended.
H_RATE=$(echo "$H_ACC / $H_WIN" | bc -l)
S_WIN=$(res steady_s); S_ACC=$(res steady_accepted)
S_RATE=$(steady_rate "$WORK/wrk-hub.txt")

say "waiting up to ${SETTLE}s for deliveries (GET /v1/stats; stops early once nothing is pending)"
STATS='{}'
for i in $(seq 1 "$SETTLE"); do
    STATS=$(curl -sf "$HUB/v1/stats" || echo '{}')
    echo "$STATS" | python3 -c 'import json,sys; t=json.load(sys.stdin).get("transfers",{}); sys.exit(0 if set(t) <= {"delivered","refunded","rejected"} else 1)' && break
    sleep 1
done
SETTLED=$i
# Hub CPU from the start of the wrk run until everything was delivered (idle seconds of the
# wait above add a little), per accepted transfer: what one transfer costs the hub end to end.
cpu2=$(cpu_s "$HUB_PID")
log_counters >"$WORK/metrics1.txt"
LOG_LINE=$(python3 - "$WORK/metrics0.txt" "$WORK/metrics1.txt" <<'PY'
import sys
def load(p):
    d = {}
    for line in open(p):
        k, v = line.split()
        d[k.split("{")[0]] = float(v)
    return d
a, b = load(sys.argv[1]), load(sys.argv[2])
g = lambda k: b.get(k, 0.0) - a.get(k, 0.0)
n = g("meridian_log_fsync_seconds_count")
if n > 0:
    print(f"{n:.0f} commits (one fsync each), {g('meridian_log_batch_entries_sum') / n:.0f} records "
          f"per commit, {g('meridian_log_fsync_seconds_sum') / n * 1000:.2f} ms per commit on average")
else:
    print("no commit-log figures (GET /metrics did not answer)")
PY
)
echo "stats after ${SETTLED}s: $STATS"
DELIVERED=$(echo "$STATS" | python3 -c 'import json,sys; print(json.load(sys.stdin).get("transfers",{}).get("delivered",0))' 2>/dev/null || echo "?")

kill "$HUB_PID" 2>/dev/null || true
wait "$HUB_PID" 2>/dev/null || true

# --- 7. floor: the same requests and script against a server that does no work with them -------
SINK_PORT=$(free_port)
say "floor: examples/sink on 127.0.0.1:$SINK_PORT, the same requests and wrk script"
"$ROOT/target/release/examples/sink" "127.0.0.1:$SINK_PORT" >"$WORK/sink.log" 2>&1 &
SINK_PID=$!
PIDS+=("$SINK_PID")
wait_http "http://127.0.0.1:$SINK_PORT/healthz" "$SINK_PID" sink
wrk -t"$THREADS" -c"$CONNS" -d"$BASE_DURATION" --latency -s "$LUA" \
    "http://127.0.0.1:$SINK_PORT/v1/transfers" -- "$REQS" "$KEY" >"$WORK/wrk-sink.txt"
kill "$SINK_PID" 2>/dev/null || true
wait "$SINK_PID" 2>/dev/null || true
rm -f "$REQS" "$REQS".*   # hundreds of MB; not needed any more
F_ACC=$(result "$WORK/wrk-sink.txt" accepted)
[ -n "$F_ACC" ] && [ "$F_ACC" -gt 0 ] || die "the floor run answered no 202 (see $WORK/wrk-sink.txt)"
F_RATE=$(steady_rate "$WORK/wrk-sink.txt")

# --- 8. baseline again, after the hub ----------------------------------------------------------
hello_run after
B_BEFORE=$(awk '/^Requests\/sec:/ {print $2}' "$WORK/wrk-hello-before.txt")
B_AFTER=$(awk '/^Requests\/sec:/ {print $2}' "$WORK/wrk-hello-after.txt")
# The higher of the two baselines (the harder ratio): the machine's speed drifts between runs.
if [ "$(echo "$B_AFTER > $B_BEFORE" | bc -l)" = 1 ]; then B_BEST=after; else B_BEST=before; fi
cp "$WORK/wrk-hello-$B_BEST.txt" "$WORK/wrk-hello.txt"

# wrk prints "Requests/sec:  123456.78" and, with --latency, "50%  1.23ms" / "99%  4.56ms".
to_ms() { # 812.00us | 1.23ms | 2.00s -> milliseconds
    echo "$1" | sed -E 's/^([0-9.]+)us$/\1 \/ 1000/; s/^([0-9.]+)ms$/\1/; s/^([0-9.]+)s$/\1 * 1000/; s/^([0-9.]+)m$/\1 * 60000/' | bc -l
}
B_RATE=$(awk '/^Requests\/sec:/ {print $2}' "$WORK/wrk-hello.txt")
B_P50=$(to_ms "$(awk '$1 == "50%" {print $2}' "$WORK/wrk-hello.txt")")
B_P99=$(to_ms "$(awk '$1 == "99%" {print $2}' "$WORK/wrk-hello.txt")")
RATIO=$(echo "$S_RATE / $B_RATE" | bc -l)
RATIO_WHOLE=$(echo "$H_RATE / $B_RATE" | bc -l)

# --- 9. report ---------------------------------------------------------------------------------
if [ "$H_EXH" = true ]; then
    how="all $H_REQ requests answered after $(printf '%.2f' "$H_WIN") s (before the ${DURATION} limit)"
else
    how="$H_ANS of $H_REQ requests answered in the ${DURATION} run"
fi
cat <<EOF

## Load benchmark (\`benches/load.sh\`)

$(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')); wrk runs on the same cores as the server.
Hub: N=$N distinct transfer requests (mock-a → mock-b, each with its own evidence, sent once each); $how.

| | throughput | p50 | p99 |
|---|---|---|---|
| hub: \`POST /v1/transfers\` accepted (202), steady state | $(printf '%.0f' "$S_RATE") transfers/s | $(printf '%.2f' "$H_P50") ms | $(printf '%.2f' "$H_P99") ms |
| hub: the same, whole run (first request to last answer) | $(printf '%.0f' "$H_RATE") transfers/s | | |
| baseline: actix-web hello world \`GET /\` (2 workers), the higher of two runs | $(printf '%.0f' "$B_RATE") requests/s | $(printf '%.2f' "$B_P50") ms | $(printf '%.2f' "$B_P99") ms |
| ratio hub / hello (steady state; whole run) | $(printf '%.3f' "$RATIO")×; $(printf '%.3f' "$RATIO_WHOLE")× | | |
| floor: the same requests and wrk script against \`examples/sink\` (reads the body, answers a 202 of the hub's shape, no other work), steady state | $(printf '%.0f' "$F_RATE") requests/s ($(printf '%.3f' "$(echo "$F_RATE / $B_RATE" | bc -l)")× hello; hub / floor $(printf '%.3f' "$(echo "$S_RATE / $F_RATE" | bc -l)")×) | | |

- steady state: $S_ACC transfers accepted in $(printf '%.2f' "$S_WIN") s, from when both wrk threads were sending to when the first had all its answers; whole run: $H_ACC in $(printf '%.2f' "$H_WIN") s
- hello world before the hub run $(printf '%.0f' "$B_BEFORE") requests/s, after it $(printf '%.0f' "$B_AFTER") requests/s (the ratio uses the higher)
- statuses: $H_TALLY (202 = accepted; anything else is not counted)
- socket errors: $H_ERR
- CPU per accepted transfer: hub $(printf '%.1f' "$(echo "($cpu2 - $cpu0) / $H_ACC * 1000000" | bc -l)") µs (accept and deliver), wrk $(printf '%.1f' "$(echo "$WRK_CPU / $H_ANS * 1000000" | bc -l)") µs per request; $(nproc) cores × window $(printf '%.2f' "$H_WIN") s = $(printf '%.1f' "$(echo "$(nproc) * $H_WIN / $H_ACC * 1000000" | bc -l)") µs of machine per transfer
- commit log over the run: $LOG_LINE
- delivered afterwards (\`GET /v1/stats\`, ${SETTLED} s after the run): $DELIVERED — $STATS
- load average before the hub run: $LOAD0 (other processes on the machine skew both runs)
- goals (steady state; whole run): ≥ 20,000 verified transfers/s on 2 cores: $(echo "$S_RATE >= 20000" | bc -l | sed 's/1/met/;s/0/not met/'); $(echo "$H_RATE >= 20000" | bc -l | sed 's/1/met/;s/0/not met/'). ≥ 0.3× hello world: $(echo "$RATIO >= 0.3" | bc -l | sed 's/1/met/;s/0/not met/'); $(echo "$RATIO_WHOLE >= 0.3" | bc -l | sed 's/1/met/;s/0/not met/')

Commands: \`N=$N DURATION=$DURATION BASE_DURATION=$BASE_DURATION THREADS=$THREADS CONNS=$CONNS benches/load.sh\`, which runs
\`$HUB_CMD\` and \`$BASE_CMD\`, and the floor: the hub's wrk command against \`examples/sink\` with \`-d$BASE_DURATION\`.
EOF
