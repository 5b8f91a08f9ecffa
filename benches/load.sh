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
#   DURATION=20s    hub run limit (each wrk thread stops once it has sent its share; wrk itself
#                   sleeps out the full duration before it prints)
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
# an accepted transfer. Only 202 counts as accepted; every other status is tallied apart (by the
# hub's meridian_http_responses_total, and statuses >= 400 by wrk as well), and the hub must end
# with every accepted transfer delivered.
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
-- Sends every request of this thread's file (requests.jsonl.<t>) exactly once, in order, and
-- stops the thread once it has handed out its share.
-- * No response() callback: with one, wrk builds a Lua table of every answer's headers and
--   calls into Lua per answer (~1.8 us of wrk CPU per request here, measured against the same
--   hub), which the hello-world run does not pay. Statuses are counted instead by wrk itself
--   (its summary counts every answer, and every status > 399 as an error) and by the hub
--   (meridian_http_responses_total by status, read before and after; only this route answers
--   202), and load.sh checks that the hub ends with all N delivered.
-- * No delay() either: with one, wrk re-arms every connection through a timer and two
--   epoll_ctl calls per request, which the hello-world run does not pay.
-- * Timing: without pipelining, wrk calls request() once per connection to start and then
--   once each time an answer on that connection completes, so the times of the calls after a
--   thread's first <connections> are the times its answers arrived.
-- * Each thread loads its file on its first call, on its own thread, so both start sending
--   at about the same time (in init(), wrk's main thread would load them one after the other
--   while thread 0 already sends). wrk calls request() once on thread 0 before the run only
--   to check the request parses; that call loads nothing and uses up no line.
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
local reqs, nreqs, loaded = {}, 0, false
local file, headers, filler
local verify_call = nil
calls = 0              -- request() calls after the load (read back in done())
times = {}             -- when each call was made
share, sent, fillers = 0, 0, 0
conns = 0              -- this thread's connections (wrk splits them evenly)
t_stop = 0             -- when this thread handed out its last request and stopped

function init(args)
  file = args[1] .. "." .. tid
  headers = {
    ["Authorization"] = "Bearer " .. args[2],
    ["Content-Type"] = "application/json",
  }
  filler = wrk.format("GET", "/healthz", {}, nil)
  conns = tonumber(args[3])
  verify_call = (tid == 0)
end

local function load()
  for line in io.lines(file) do
    nreqs = nreqs + 1
    reqs[nreqs] = wrk.format("POST", "/v1/transfers", headers, line)
  end
  share = nreqs
  loaded = true
end

function request()
  if verify_call then verify_call = false; return filler end  -- wrk's parse check
  if not loaded then load() end
  local t = now()
  calls = calls + 1
  times[calls] = t
  if sent >= nreqs then
    -- Share handed out: stop this thread (its last answers still in flight are not counted
    -- here; the hub's counters and delivered total account for them).
    if t_stop == 0 then t_stop = t; wrk.thread:stop() end
    fillers = fillers + 1
    return filler
  end
  sent = sent + 1
  return reqs[sent]
end

function done(summary, latency, requests)
  local shares, sent_all, fillers_all, first, last = 0, 0, 0, nil, 0
  -- Steady state: from when answers were coming back on every thread (its first answer) to
  -- when the first thread handed out its last request; answers counted in that window.
  local s_start, s_end = 0, math.huge
  local got = {}   -- each thread's times, calls and connections (t:get copies a table across)
  for _, t in ipairs(threads) do
    shares = shares + t:get("share")
    sent_all = sent_all + t:get("sent")
    fillers_all = fillers_all + t:get("fillers")
    local ts_, n, per = t:get("times"), t:get("calls"), t:get("conns")
    table.insert(got, {ts_, n, per})
    if n > 0 and (first == nil or ts_[1] < first) then first = ts_[1] end
    local stop = t:get("t_stop")
    if stop == 0 and n > 0 then stop = ts_[n] end
    if stop > last then last = stop end
    s_start = math.max(s_start, (n > per) and ts_[per + 1] or math.huge)
    s_end = math.min(s_end, stop)
  end
  local s_ans = 0
  if s_end > s_start then
    for _, g in ipairs(got) do
      local ts_, n, per = g[1], g[2], g[3]
      for i = per + 1, n do
        local at = ts_[i]
        if at >= s_start and at <= s_end then s_ans = s_ans + 1 end
      end
    end
  end
  local window = (first and last > first) and (last - first) or (summary.duration / 1e6)
  io.write(string.format("RESULT steady_s=%.3f steady_answered=%d steady_from=%.6f steady_to=%.6f\n",
    math.max(0, s_end - s_start), s_ans, (s_start < math.huge) and s_start or 0,
    (s_end < math.huge) and s_end or 0))
  io.write(string.format("RESULT requests=%d sent=%d answered=%d fillers=%d status_errors=%d window_s=%.3f wrk_duration_s=%.3f p50_ms=%.3f p99_ms=%.3f exhausted=%s\n",
    shares, sent_all, summary.requests, fillers_all, summary.errors.status, window,
    summary.duration / 1e6, latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    tostring(sent_all >= shares)))
  io.write(string.format("RESULT errors connect=%d read=%d write=%d timeout=%d\n",
    summary.errors.connect, summary.errors.read, summary.errors.write, summary.errors.timeout))
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
PER_THREAD=$((CONNS / THREADS))
[ $((PER_THREAD * THREADS)) -eq "$CONNS" ] || die "CONNS ($CONNS) must be a multiple of THREADS ($THREADS)"
HUB_CMD="wrk -t$THREADS -c$CONNS -d$DURATION --latency -s transfers.lua $HUB/v1/transfers -- requests.jsonl $KEY $PER_THREAD"
cpu_s() { awk '{print ($14 + $15) / '"$(getconf CLK_TCK)"'}' "/proc/$1/stat"; }
say "hub: $HUB_CMD"
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
# One scrape of /metrics before the run (0) and one after it (1), and from each: the commit-log
# counters (Prometheus histograms: _sum and _count) and the hub's answers by status (every
# route; only POST /v1/transfers answers 202).
scrape() {
    curl -sf "$HUB/metrics" >"$WORK/scrape$1.txt" || true
    awk '/^meridian_log_(fsync_seconds|batch_entries)_(sum|count)[ {]/ {print $1, $NF}' \
        "$WORK/scrape$1.txt" >"$WORK/metrics$1.txt"
    sed -nE 's/^meridian_http_responses_total\{status="([0-9]+)"\} ([0-9.e+]+)$/\1 \2/p' \
        "$WORK/scrape$1.txt" >"$WORK/statuses$1.txt"
}
scrape 0
cpu0=$(cpu_s "$HUB_PID")
# The machine's CPU counters (/proc/stat) every 50 ms during the run, stamped with the clock the
# wrk script times with (CLOCK_MONOTONIC), for the idle share of the steady window.
python3 -c '
import sys, time
with open(sys.argv[1], "w", buffering=1) as out:
    while True:
        with open("/proc/stat") as f:
            out.write(f"{time.monotonic():.6f} {f.readline().split(None, 1)[1]}")
        time.sleep(0.05)
' "$WORK/cpu-samples.txt" &
SAMPLER=$!
PIDS+=("$SAMPLER")
( wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency -s "$LUA" "$HUB/v1/transfers" \
    -- "$REQS" "$KEY" "$PER_THREAD"; times ) | tee "$WORK/wrk-hub.txt"
kill "$SAMPLER" 2>/dev/null || true
# wrk's own CPU (user + system, from the subshell's `times`: its second line is the children's).
mins_s() { echo "$1" | sed -E 's/^([0-9]+)m([0-9.]+)s$/\1 * 60 + \2/' | bc -l; }
read -r W_USER W_SYS < <(grep -E '^[0-9]+m[0-9.]+s [0-9]+m[0-9.]+s$' "$WORK/wrk-hub.txt" | tail -1)
WRK_CPU=$(echo "$(mins_s "$W_USER") + $(mins_s "$W_SYS")" | bc -l)

# One value from the RESULT lines transfers.lua printed into a file (keys are unique across them).
result() { grep '^RESULT ' "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }
# Answers per second in steady state (see transfers.lua), or over the whole run (first request
# sent to the last one handed out) when the steady window is too short.
steady_rate() {
    local win ans
    win=$(result "$1" steady_s)
    ans=$(result "$1" steady_answered)
    if [ "$(echo "$win > 0.5 && $ans > 0" | bc -l)" = 1 ]; then
        echo "$ans / $win" | bc -l
    else
        echo "$(result "$1" answered) / $(result "$1" window_s)" | bc -l
    fi
}
res() { result "$WORK/wrk-hub.txt" "$1"; }
H_REQ=$(res requests); H_SENT=$(res sent); H_ANS=$(res answered); H_FILL=$(res fillers)
H_SERR=$(res status_errors)
H_WIN=$(res window_s)
H_P50=$(res p50_ms); H_P99=$(res p99_ms); H_EXH=$(res exhausted)
H_ERR=$(sed -n 's/^RESULT errors //p' "$WORK/wrk-hub.txt")
[ -n "$H_ANS" ] || die "wrk printed no result (see above)"
[ "$H_ANS" -gt 0 ] || die "wrk counted no answer (hub log: $WORK/meridian.log)"
H_ANS_RATE=$(echo "$H_ANS / $H_WIN" | bc -l)
S_WIN=$(res steady_s); S_ANS=$(res steady_answered)
S_ANS_RATE=$(steady_rate "$WORK/wrk-hub.txt")
# Share of the machine idle (and waiting for I/O) in the steady window: the samples nearest
# inside its bounds.
IDLE_LINE=$(python3 - "$WORK/cpu-samples.txt" "$(res steady_from)" "$(res steady_to)" <<'PY'
import sys
t0, t1 = float(sys.argv[2] or 0), float(sys.argv[3] or 0)
rows = []
for line in open(sys.argv[1]):
    f = line.split()
    if len(f) >= 6:
        rows.append((float(f[0]), [int(x) for x in f[1:]]))
inside = [r for r in rows if t0 <= r[0] <= t1]
if t1 <= t0 or len(inside) < 2:
    print("not measured (steady window too short)")
else:
    a, b = inside[0][1], inside[-1][1]
    d = [y - x for x, y in zip(a, b)]
    total = sum(d[:8]) or 1
    print(f"{d[3] / total:.1%} idle, {d[4] / total:.1%} waiting for I/O, {d[6] / total:.1%} softirq "
          f"({inside[-1][0] - inside[0][0]:.2f} s of /proc/stat inside the window)")
PY
)

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
scrape 1
# Statuses of this run: the hub's counters after it less before. The 200s include the wrk
# threads' closing GET /healthz fillers and load.sh's own requests (GET /v1/stats, /metrics).
H_TALLY=$(python3 - "$WORK/statuses0.txt" "$WORK/statuses1.txt" <<'PY'
import sys
def load(p):
    return {k: float(v) for k, v in (l.split() for l in open(p) if l.strip())}
a, b = load(sys.argv[1]), load(sys.argv[2])
print(" ".join(f"{k}={b[k] - a.get(k, 0):.0f}" for k in sorted(b) if b[k] - a.get(k, 0) > 0))
PY
)
H_ACC=$(echo "$H_TALLY" | tr ' ' '\n' | sed -n 's/^202=//p')
H_ACC=${H_ACC:-0}
[ "$H_ACC" -gt 0 ] || die "no transfer was accepted (statuses: $H_TALLY; hub log: $WORK/meridian.log)"
[ "$H_ACC" -le "$H_REQ" ] || die "the hub counted $H_ACC 202s for $H_REQ requests"
# Accepted per second: answers per second times the share of the N requests answered 202 (1
# when every one was; each request is sent once and only this route answers 202).
ACC_SHARE=$(echo "$H_ACC / $H_REQ" | bc -l)
H_RATE=$(echo "$H_ANS_RATE * $ACC_SHARE" | bc -l)
S_RATE=$(echo "$S_ANS_RATE * $ACC_SHARE" | bc -l)
S_ACC=$(printf '%.0f' "$(echo "$S_ANS * $ACC_SHARE" | bc -l)")
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

# Reads against the full hub (every transfer of the run in its state): 20 finality proof
# bundles and 20 single transfers, one request at a time, spread over the log.
READS=$(python3 - "$HUB" "$KEY" <<'PY'
import json, sys, time, urllib.request
hub, key = sys.argv[1], sys.argv[2]
def get(path):
    req = urllib.request.Request(hub + path, headers={"Authorization": "Bearer " + key})
    t = time.perf_counter()
    with urllib.request.urlopen(req, timeout=60) as r:
        body = r.read()
    return time.perf_counter() - t, body
end = json.loads(get("/v1/stats")[1])["log_next_seq"]
ids = []
for k in range(20):
    cursor = f"&cursor={k * end // 20}" if k else ""
    items = json.loads(get("/v1/transfers?limit=1" + cursor)[1])["items"]
    ids += [t["id"] for t in items]
def ms(paths):
    t = sorted(get(p)[0] * 1000 for p in paths)
    return f"p50 {t[len(t) // 2]:.2f} ms, max {t[-1]:.2f} ms"
print(f"GET /v1/transfers/{{id}}/proof: {ms(f'/v1/transfers/{i}/proof' for i in ids)}; "
      f"GET /v1/transfers/{{id}}: {ms(f'/v1/transfers/{i}' for i in ids)} ({len(ids)} transfers each)")
PY
) || READS="not measured (the requests failed)"

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
    "http://127.0.0.1:$SINK_PORT/v1/transfers" -- "$REQS" "$KEY" "$PER_THREAD" >"$WORK/wrk-sink.txt"
kill "$SINK_PID" 2>/dev/null || true
wait "$SINK_PID" 2>/dev/null || true
rm -f "$REQS" "$REQS".*   # hundreds of MB; not needed any more
F_ANS=$(result "$WORK/wrk-sink.txt" answered)
[ -n "$F_ANS" ] && [ "$F_ANS" -gt 0 ] || die "the floor run answered nothing (see $WORK/wrk-sink.txt)"
[ "$(result "$WORK/wrk-sink.txt" status_errors)" = 0 ] || die "the floor run had error statuses (see $WORK/wrk-sink.txt)"
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
    how="all $H_REQ requests sent within $(printf '%.2f' "$H_WIN") s of the first (before the ${DURATION} limit); the hub answered $H_ACC of them 202"
else
    how="$H_SENT of $H_REQ requests sent in the ${DURATION} run; the hub answered $H_ACC of them 202"
fi
cat <<EOF

## Load benchmark (\`benches/load.sh\`)

$(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')); wrk runs on the same cores as the server.
Hub: N=$N distinct transfer requests (mock-a → mock-b, each with its own evidence, sent once each); $how.

| | throughput | p50 | p99 |
|---|---|---|---|
| hub: \`POST /v1/transfers\` accepted (202), steady state | $(printf '%.0f' "$S_RATE") transfers/s | $(printf '%.2f' "$H_P50") ms | $(printf '%.2f' "$H_P99") ms |
| hub: the same, whole run (first request to the last one sent) | $(printf '%.0f' "$H_RATE") transfers/s | | |
| baseline: actix-web hello world \`GET /\` (2 workers), the higher of two runs | $(printf '%.0f' "$B_RATE") requests/s | $(printf '%.2f' "$B_P50") ms | $(printf '%.2f' "$B_P99") ms |
| ratio hub / hello (steady state; whole run) | $(printf '%.3f' "$RATIO")×; $(printf '%.3f' "$RATIO_WHOLE")× | | |
| floor: the same requests and wrk script against \`examples/sink\` (reads the body, answers a 202 of the hub's shape, no other work), steady state | $(printf '%.0f' "$F_RATE") requests/s ($(printf '%.3f' "$(echo "$F_RATE / $B_RATE" | bc -l)")× hello; hub / floor $(printf '%.3f' "$(echo "$S_RATE / $F_RATE" | bc -l)")×) | | |

- steady state: $S_ANS answers in $(printf '%.2f' "$S_WIN") s, from when answers were coming back on every wrk thread to when the first thread had sent its last request; whole run: $H_ANS answers from the first request to the last one sent, $(printf '%.2f' "$H_WIN") s (wrk counts answers; each rate is multiplied by the share of the $H_REQ requests the hub answered 202: $H_ACC)
- hello world before the hub run $(printf '%.0f' "$B_BEFORE") requests/s, after it $(printf '%.0f' "$B_AFTER") requests/s (the ratio uses the higher)
- the hub's answers during the run by status (\`meridian_http_responses_total\`, after less before): $H_TALLY (202 = accepted; the 200s are the wrk threads' closing \`GET /healthz\` fillers, $H_FILL, and load.sh's own requests); wrk: $H_SERR answers with a status ≥ 400
- socket errors: $H_ERR
- CPU per accepted transfer: hub $(printf '%.1f' "$(echo "($cpu2 - $cpu0) / $H_ACC * 1000000" | bc -l)") µs (accept and deliver), wrk $(printf '%.1f' "$(echo "$WRK_CPU / $H_SENT * 1000000" | bc -l)") µs per request (loading its requests included); $(nproc) cores × window $(printf '%.2f' "$H_WIN") s / $H_ANS answers = $(printf '%.1f' "$(echo "$(nproc) * $H_WIN / $H_ANS * 1000000" | bc -l)") µs of machine per transfer
- the machine during the steady window: $IDLE_LINE
- commit log over the run: $LOG_LINE
- delivered afterwards (\`GET /v1/stats\`, ${SETTLED} s after the run): $DELIVERED — $STATS
- reads afterwards, one at a time against the hub holding every transfer of the run: $READS
- load average before the hub run: $LOAD0 (other processes on the machine skew both runs)
- goals (steady state; whole run): ≥ 20,000 verified transfers/s on 2 cores: $(echo "$S_RATE >= 20000" | bc -l | sed 's/1/met/;s/0/not met/'); $(echo "$H_RATE >= 20000" | bc -l | sed 's/1/met/;s/0/not met/'). ≥ 0.3× hello world: $(echo "$RATIO >= 0.3" | bc -l | sed 's/1/met/;s/0/not met/'); $(echo "$RATIO_WHOLE >= 0.3" | bc -l | sed 's/1/met/;s/0/not met/')

Commands: \`N=$N DURATION=$DURATION BASE_DURATION=$BASE_DURATION THREADS=$THREADS CONNS=$CONNS benches/load.sh\`, which runs
\`$HUB_CMD\` and \`$BASE_CMD\`, and the floor: the hub's wrk command against \`examples/sink\` with \`-d$BASE_DURATION\`.
EOF
