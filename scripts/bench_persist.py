"""Store-and-forward queues beside tcp: zvtran PUSH/PULL throughput, rounds alternating.

Usage: bench_persist.py ZVTRAN --postgres USER@HOST:PORT/DB [--rounds N]
Prints a markdown table: medians of N rounds for tcp, for a queue in a fresh SQLite file under
/tmp and for a fresh queue on the PostgreSQL server, and their ratios to tcp.
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
    ap.add_argument("--postgres", required=True)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="zvtran-bench-")
    print(
        f"| PUSH/PULL throughput (median of {args.rounds}) | tcp | sqlite:// | postgres:// "
        "| sqlite / tcp | postgres / tcp |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for size, count in ROWS:
        tcp, sql, pg = [], [], []
        for r in range(args.rounds):
            PORT[0] += 1
            tcp.append(thr(args.zvtran, f"tcp://127.0.0.1:{PORT[0]}", size, count))
            path = os.path.join(tmp, f"q-{size}-{r}.db")
            sql.append(thr(args.zvtran, f"sqlite://{path}?queue=bench", size, count))
            pg.append(thr(args.zvtran, f"postgres://{args.postgres}?queue=b{size}-{r}", size, count))
        name = f"{size} B" if size < 1024 else f"{size // 1024} KiB"
        t, s, p = statistics.median(tcp), statistics.median(sql), statistics.median(pg)
        print(
            f"| {name} | {fmt(t)} msg/s | {fmt(s)} msg/s | {fmt(p)} msg/s "
            f"| {s / t:.2f} | {p / t:.2f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
