"""bench/compare_table.py ROWS.jsonl C DUR WARM KEYS ETCD_VERSION CPU_START CPU_END [--no-readme]: the tables of bench/compare.sh.

ROWS.jsonl holds one line per measurement: the load generator's JSON line plus "system" (nginx, pekko, etcd,
ringkv), "op" (PUT, GET), "round" (0: the open-loop run), "cpu_ticks" (the system's server processes,
user + system, over the measured run) and "ticks_per_sec". Prints the markdown block and, unless
--no-readme, puts it into bench/README.md between the compare markers.
"""
import json
import os
import subprocess
import sys
import time

import readme_block

rows = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
conns, dur, warm, keys, etcd_version = sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]), sys.argv[6]
commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip() or "?"
load = os.getloadavg()


def cpu_times(path):
    return [int(x) for x in open(path).read().split()[1:]]


a, b = cpu_times(sys.argv[7]), cpu_times(sys.argv[8])
delta = [y - x for x, y in zip(a, b)]
steal = delta[7] / sum(delta) if len(delta) > 7 and sum(delta) else 0

ORDER = ["nginx", "pekko", "etcd", "before", "ringkv"]
NAMES = {
    "nginx": "nginx (fixed 200)",
    "pekko": "Pekko HTTP (fixed 200)",
    "etcd": f"etcd {etcd_version} (3 members)",
    "ringkv": "ringkv (controller + 4 workers)",
    "before": f"ringkv before ({os.environ.get('BEFORE_LABEL', 'BEFORE_JAR')})",
}
OPS = ["PUT", "GET"]
TARGETS = {  # the issue's targets
    "put_ratio": 3.0,   # ringkv PUT ops/s >= 3x etcd PUT
    "get_ratio": 2.0,   # ringkv GET ops/s >= 2x etcd linearizable GET
    "cpu_put": 120.0,   # cluster CPU us per PUT <=
    "cpu_get": 70.0,    # cluster CPU us per GET <=
    "p99_put": 5.0,     # ms, open loop at half the peak <=
    "p99_get": 2.0,
}


def cpu_us(r):
    """The system's CPU time per request over the measured run, in microseconds (None without requests)."""
    return r["cpu_ticks"] / r["ticks_per_sec"] * 1e6 / r["requests"] if r.get("requests") else None


def fmt(v, spec=",.0f", none="—"):
    return none if v is None else format(v, spec)


def mean(xs):
    xs = [x for x in xs if x is not None]
    return sum(xs) / len(xs) if xs else None


def ratio(x, y):
    return x / y if x is not None and y else None


def verdict(ok):
    return "—" if ok is None else ("met" if ok else "**not met**")


def errors(r):
    return str(r["errors"]) + ("" if not r.get("errors_by_status") else " " + json.dumps(r["errors_by_status"]))


closed = [r for r in rows if r["loop"] == "closed"]
opened = [r for r in rows if r["loop"] == "open"]
rounds = sorted({r["round"] for r in closed})


def sort_key(r):
    return (ORDER.index(r["system"]) if r["system"] in ORDER else 99, OPS.index(r["op"]) if r["op"] in OPS else 99, r["round"])


def find(system, op, rnd):
    return next((r for r in closed if r["system"] == system and r["op"] == op and r["round"] == rnd), None)


def closed_field(system, op, rnd, field):
    r = find(system, op, rnd)
    if r is None:
        return None
    return cpu_us(r) if field == "cpu" else r[field]


def open_row(system, op):
    return next((r for r in opened if r["system"] == system and r["op"] == op), None)


out = []
out.append(f"Run of {time.strftime('%Y-%m-%d %H:%M', time.gmtime())} UTC, commit {commit}, {os.cpu_count()} cores, load average "
           f"{load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} (1 / 5 / 15 min) at the end, {steal:.0%} of CPU time taken by the "
           f"hypervisor (steal) during the run; {conns} connections for every system, {warm} s of warm-up then {dur} s measured "
           f"per row, {keys:,} keys of 100 B (uniform); etcd and ringkv with fsync; CPU µs/req: the system's server processes "
           f"(user + system) over the measured run, divided by its requests.")
out.append("")
out.append("| system | op | round | ops/s | p50 ms | p99 ms | p99.9 ms | CPU µs/req | errors |")
out.append("|---|---|---|---:|---:|---:|---:|---:|---:|")
for r in sorted(closed, key=sort_key) + sorted(opened, key=sort_key):
    rnd = str(r["round"]) if r["loop"] == "closed" else f"open loop at {r['rate']:,.0f}/s (half the peak)"
    out.append(f"| {NAMES.get(r['system'], r['system'])} | {r['op']} | {rnd} | {r['ops_per_sec']:,.0f} | {r['p50_ms']:.2f} "
               f"| {r['p99_ms']:.2f} | {r['p999_ms']:.2f} | {fmt(cpu_us(r))} | {errors(r)} |")

out.append("")
out.append("| round | ringkv / etcd PUT ops/s | ringkv / etcd GET ops/s | ringkv CPU µs/PUT | ringkv CPU µs/GET "
           "| etcd CPU µs/PUT | etcd CPU µs/GET |")
out.append("|---|---:|---:|---:|---:|---:|---:|")
for rnd in rounds:
    out.append(f"| {rnd} | {fmt(ratio(closed_field('ringkv', 'PUT', rnd, 'ops_per_sec'), closed_field('etcd', 'PUT', rnd, 'ops_per_sec')), '.2f')} "
               f"| {fmt(ratio(closed_field('ringkv', 'GET', rnd, 'ops_per_sec'), closed_field('etcd', 'GET', rnd, 'ops_per_sec')), '.2f')} "
               f"| {fmt(closed_field('ringkv', 'PUT', rnd, 'cpu'))} | {fmt(closed_field('ringkv', 'GET', rnd, 'cpu'))} "
               f"| {fmt(closed_field('etcd', 'PUT', rnd, 'cpu'))} | {fmt(closed_field('etcd', 'GET', rnd, 'cpu'))} |")


def mean_over_rounds(system, op, field):
    return mean([closed_field(system, op, rnd, field) for rnd in rounds])


m = {
    "put_ratio": ratio(mean_over_rounds("ringkv", "PUT", "ops_per_sec"), mean_over_rounds("etcd", "PUT", "ops_per_sec")),
    "get_ratio": ratio(mean_over_rounds("ringkv", "GET", "ops_per_sec"), mean_over_rounds("etcd", "GET", "ops_per_sec")),
    "cpu_put": mean_over_rounds("ringkv", "PUT", "cpu"),
    "cpu_get": mean_over_rounds("ringkv", "GET", "cpu"),
}
out.append(f"| mean | {fmt(m['put_ratio'], '.2f')} | {fmt(m['get_ratio'], '.2f')} | {fmt(m['cpu_put'])} | {fmt(m['cpu_get'])} "
           f"| {fmt(mean_over_rounds('etcd', 'PUT', 'cpu'))} | {fmt(mean_over_rounds('etcd', 'GET', 'cpu'))} |")

put_open, get_open = open_row("ringkv", "PUT"), open_row("ringkv", "GET")
m["p99_put"] = put_open["p99_ms"] if put_open else None
m["p99_get"] = get_open["p99_ms"] if get_open else None
ringkv_rows = [r for r in rows if r["system"] == "ringkv"]
ringkv_errors = sum(r["errors"] for r in ringkv_rows) if ringkv_rows else None


def at_least(key):
    return None if m[key] is None else m[key] >= TARGETS[key]


def at_most(key):
    return None if m[key] is None else m[key] <= TARGETS[key]


out.append("")
out.append(f"| target (the issue's; ratios and CPU: means over the {len(rounds)} rounds) | measured | |")
out.append("|---|---:|---|")
out.append(f"| ringkv PUT ops/s >= {TARGETS['put_ratio']:g}x etcd PUT | {fmt(m['put_ratio'], '.2f')}x | {verdict(at_least('put_ratio'))} |")
out.append(f"| ringkv GET ops/s >= {TARGETS['get_ratio']:g}x etcd linearizable GET | {fmt(m['get_ratio'], '.2f')}x | {verdict(at_least('get_ratio'))} |")
out.append(f"| ringkv cluster CPU <= {TARGETS['cpu_put']:g} µs per PUT | {fmt(m['cpu_put'])} µs | {verdict(at_most('cpu_put'))} |")
out.append(f"| ringkv cluster CPU <= {TARGETS['cpu_get']:g} µs per GET | {fmt(m['cpu_get'])} µs | {verdict(at_most('cpu_get'))} |")
out.append(f"| ringkv PUT p99 at half the peak <= {TARGETS['p99_put']:g} ms | {fmt(m['p99_put'], '.2f')} ms | {verdict(at_most('p99_put'))} |")
out.append(f"| ringkv GET p99 at half the peak <= {TARGETS['p99_get']:g} ms | {fmt(m['p99_get'], '.2f')} ms | {verdict(at_most('p99_get'))} |")
out.append(f"| ringkv errors = 0 (all its measured runs) | {fmt(ringkv_errors, 'd')} | {verdict(None if ringkv_errors is None else ringkv_errors == 0)} |")

if any(r["system"] == "before" for r in rows):
    out.append("")
    out.append(f"| ringkv, before -> after (means over the {len(rounds)} rounds) | ops/s before | ops/s after | ratio | CPU µs/req before | CPU µs/req after | ratio |")
    out.append("|---|---:|---:|---:|---:|---:|---:|")
    for op in OPS:
        b_ops, a_ops = mean_over_rounds("before", op, "ops_per_sec"), mean_over_rounds("ringkv", op, "ops_per_sec")
        b_cpu, a_cpu = mean_over_rounds("before", op, "cpu"), mean_over_rounds("ringkv", op, "cpu")
        out.append(f"| {op} | {fmt(b_ops)} | {fmt(a_ops)} | {fmt(ratio(a_ops, b_ops), '.2f')} | {fmt(b_cpu)} | {fmt(a_cpu)} "
                   f"| {fmt(ratio(a_cpu, b_cpu), '.2f')} |")

block = "\n".join(out)
print(block)

if "--no-readme" not in sys.argv:
    readme_block.write("compare", block)
