"""sqlite:// queues beside tcp: zvtran PUSH/PULL throughput, rounds alternating.

Usage: bench_persist.py ZVTRAN [--rounds N]
Prints a markdown table: medians of N rounds for tcp and for a queue in a fresh SQLite file
under /tmp, and their ratio.
"""
import argparse
import os
import statistics

from perf_pair import fmt, thr
import tempfile

PORT = [5900]
ROWS = [(64, 500_000), (4096, 100_000)]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("zvtran")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="zvtran-bench-")
    print(f"| PUSH/PULL throughput (median of {args.rounds}) | tcp | sqlite:// | sqlite / tcp |")
    print("| --- | ---: | ---: | ---: |")
    for size, count in ROWS:
        tcp, sql = [], []
        for r in range(args.rounds):
            PORT[0] += 1
            tcp.append(thr(args.zvtran, f"tcp://127.0.0.1:{PORT[0]}", size, count))
            path = os.path.join(tmp, f"q-{size}-{r}.db")
            sql.append(thr(args.zvtran, f"sqlite://{path}?queue=bench", size, count))
        name = f"{size} B" if size < 1024 else f"{size // 1024} KiB"
        t, s = statistics.median(tcp), statistics.median(sql)
        print(f"| {name} | {fmt(t)} msg/s | {fmt(s)} msg/s | {s / t:.2f} |", flush=True)


if __name__ == "__main__":
    main()
