"""tls+tcp:// beside tcp: zvtran PUSH/PULL throughput, the two rounds of each pair back to back.

Usage: bench_tls.py ZVTRAN [--rounds N]   (ZVTRAN_PERF_TLS names the certificate directory)
Prints a markdown table: medians of N rounds and the median of the per-pair ratios tls/tcp.
"""
import argparse
import statistics

from perf_pair import fmt, thr

PORT = [5800]
ROWS = [(64, 2_000_000), (65536, 30_000)]


def endpoint(scheme):
    PORT[0] += 1
    return f"{scheme}://127.0.0.1:{PORT[0]}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("zvtran")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    print(f"| PUSH/PULL throughput (median of {args.rounds}) | tcp | tls+tcp | tls / tcp (pairs) |")
    print("| --- | ---: | ---: | --- |")
    for size, count in ROWS:
        tcp, tls = [], []
        for _ in range(args.rounds):
            tcp.append(thr(args.zvtran, endpoint("tcp"), size, count))
            tls.append(thr(args.zvtran, endpoint("tls+tcp"), size, count))
        ratios = sorted(b / a for a, b in zip(tcp, tls))
        name = f"{size} B" if size < 1024 else f"{size // 1024} KiB"
        print(f"| {name} | {fmt(statistics.median(tcp))} msg/s | {fmt(statistics.median(tls))} msg/s | "
              f"{statistics.median(ratios):.2f} ({', '.join(f'{r:.2f}' for r in ratios)}) |", flush=True)


if __name__ == "__main__":
    main()
