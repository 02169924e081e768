"""bench/table.py RESULTS.jsonl WRK_CEILING C DUR CPU_START CPU_END [--no-readme]: the results table of bench/run.sh.

Prints the table and, unless --no-readme, puts it into bench/README.md between the results markers.
"""
import json
import os
import platform
import subprocess
import sys
import time

import readme_block

rows = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
wrk_ceiling, conns, dur = sys.argv[2], sys.argv[3], sys.argv[4]
ceilings = [r["ops_per_sec"] for r in rows if r["label"].startswith("ceiling")]
ceiling = sum(ceilings) / len(ceilings)
commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip() or "?"
load = os.getloadavg()[0]


def cpu(path):
    return [int(x) for x in open(path).read().split()[1:]]


a, b = cpu(sys.argv[5]), cpu(sys.argv[6])
delta = [y - x for x, y in zip(a, b)]
steal = delta[7] / sum(delta) if sum(delta) else 0

out = []
out.append(f"Run of {time.strftime('%Y-%m-%d %H:%M')} UTC, commit {commit}, {os.cpu_count()} cores, load average "
           f"{load:.1f} at the end, {steal:.0%} of CPU time taken by the hypervisor (steal) during the run; {conns} connections, {dur} s per scenario. Ceiling: nginx, one worker process, "
           f"fixed 200, loaded by the same generator: " + " / ".join(f"{c:,.0f}" for c in ceilings) + " req/s (before / after)"
           + (f"; wrk -t2 -c{conns} on the same nginx: {float(wrk_ceiling):,.0f} req/s" if wrk_ceiling else "") + ".")
out.append("")
out.append("| scenario | ops/s | ratio to the ceiling | cluster CPU µs/op | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms | errors |")
out.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
for r in rows:
    if r["label"].startswith("ceiling"):
        continue
    ratio = r["ops_per_sec"] / ceiling if r["loop"] == "closed" else None
    errors = str(r["errors"]) + ("" if not r["errors_by_status"] else " " + json.dumps(r["errors_by_status"]))
    cpu_us = r["cluster_cpu_ticks"] / r["ticks_per_sec"] * 1e6 / (r["ops_per_sec"] * r["window_s"]) if r["ops_per_sec"] else 0
    out.append(f"| {r['label']} | {r['ops_per_sec']:,.0f} | {f'{ratio:.3f}' if ratio is not None else '(at ' + format(r['rate'], ',.0f') + '/s)'} | {cpu_us:,.0f} "
               f"| {r['p50_ms']:.2f} | {r['p90_ms']:.2f} | {r['p99_ms']:.2f} | {r['p999_ms']:.2f} | {r['max_ms']:.1f} | {errors} |")
table = "\n".join(out)
print(table)

if "--no-readme" not in sys.argv:
    readme_block.write("results", table)
