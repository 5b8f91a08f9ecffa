#!/usr/bin/env python3
"""Where a 2-CPU machine sits idle during a load run, from scheduler trace events.

    perf record -e sched:sched_switch -e sched:sched_wakeup -a -o sched.data -- sleep 1
    perf script -i sched.data -F cpu,time,event,trace > sched.txt
    benches/sched_idle.py sched.txt

(record while `benches/load.sh` sends to the hub). Prints how much of the span one CPU was
idle, how much of that a woken task spent waiting in the other, busy CPU's run queue, and which
(woken task, waker) pairs that waiting belongs to: the time the scheduler's placement of wake-ups
left a CPU idle while there was work. Only CPUs 0 and 1 are considered.
"""
import collections
import re
import sys

EVENT = re.compile(r"\[(\d+)\]\s+([\d.]+): sched:(\w+): (.*)")
SWITCH_NEXT = re.compile(r"==> next_comm=(.*) next_pid=(\d+)")
WAKEUP = re.compile(r"comm=(.*) pid=(\d+) prio=-?\d+ target_cpu=(\d+)")


def main(path):
    rows = []
    with open(path) as f:
        for line in f:
            m = EVENT.match(line)
            if m and int(m.group(1)) in (0, 1):
                rows.append((int(m.group(1)), float(m.group(2)), m.group(3), m.group(4)))
    if len(rows) < 2:
        sys.exit("no sched_switch / sched_wakeup events for CPUs 0 and 1")
    running = {0: "swapper", 1: "swapper"}
    waiting = {}  # pid -> (woken task, waker, cpu whose run queue it waits in)
    one_idle = both_idle = 0.0
    lost = collections.Counter()
    last = rows[0][1]
    span = rows[-1][1] - rows[0][1]
    for cpu, t, event, trace in rows:
        dt, last = t - last, t
        idle = [c for c in (0, 1) if running[c].startswith("swapper")]
        if len(idle) == 2:
            both_idle += dt
        elif len(idle) == 1:
            one_idle += dt
            busy = 1 - idle[0]
            queued = [w for w in waiting.values() if w[2] == busy]
            for w in queued:
                lost[(w[0], w[1])] += dt / len(queued)
        if event == "sched_switch":
            m = SWITCH_NEXT.search(trace)
            if m:
                running[cpu] = m.group(1)
                waiting.pop(int(m.group(2)), None)
        elif event == "sched_wakeup":
            m = WAKEUP.search(trace)
            if m:
                waiting[int(m.group(2))] = (m.group(1), running[cpu], int(m.group(3)))
    waited = sum(lost.values())
    print(f"span {span:.3f} s: both CPUs idle {both_idle / span:.1%}, exactly one idle {one_idle / span:.1%}")
    print(f"one CPU idle while a woken task waited in the other's run queue: {waited / span:.1%}")
    for (wakee, waker), v in lost.most_common(10):
        print(f"  woken {wakee:<20} by {waker:<20} {v / span:6.2%}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
