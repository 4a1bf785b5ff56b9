"""Side-by-side benchmark: zvtran and libzmq measured by the same perf tools in the same run.

Usage: bench.py ZVTRAN LIBZMQ_PERF [--rounds N] [--quick] [--curve]
--curve measures PUSH/PULL throughput over tcp with CURVE on both sides instead (64 B, 1 KiB).
Prints a markdown table: for each row the median of N rounds (zvtran and libzmq alternating),
and the ratio zvtran/libzmq (throughput: higher is better; latency: lower is better).
"""
import argparse
import os
import re
import statistics
import subprocess
import tempfile
import time

SIZES = [(64, 3_000_000), (1024, 1_000_000), (65536, 50_000)]
LAT_SIZE, LAT_COUNT = 64, 20_000
PORT = [5600]


def endpoint(transport, tmp):
    if transport == "tcp":
        PORT[0] += 1
        return f"tcp://127.0.0.1:{PORT[0]}"
    PORT[0] += 1
    return f"ipc://{tmp}/bench-{PORT[0]}.sock"


def pair(tool, local, remote, ep, size, count):
    """Runs local and remote ends; returns the local end's output."""
    lo = subprocess.Popen(tool + [local, ep, str(size), str(count)], stdout=subprocess.PIPE, text=True)
    time.sleep(0.2)
    re_ = subprocess.run(tool + [remote, ep, str(size), str(count)], stdout=subprocess.PIPE, text=True)
    out, _ = lo.communicate(timeout=600)
    if lo.returncode or re_.returncode:
        raise SystemExit(f"{tool} {local}/{remote} {ep} failed")
    return out + re_.stdout


def run(tool, kind, transport, size, count, tmp):
    if transport == "inproc":
        out = subprocess.run(tool + [f"inproc_{kind}", str(size), str(count)], stdout=subprocess.PIPE,
                             text=True, check=True, timeout=600).stdout
    elif kind == "thr":
        out = pair(tool, "local_thr", "remote_thr", endpoint(transport, tmp), size, count)
    else:
        out = pair(tool, "local_lat", "remote_lat", endpoint(transport, tmp), size, count)
    if kind == "thr":
        return float(re.search(r"mean throughput: (\d+) \[msg/s\]", out).group(1))
    return float(re.search(r"average latency: ([\d.]+) \[us\]", out).group(1))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("zvtran")
    ap.add_argument("libzmq")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="a tenth of the messages, one round")
    ap.add_argument("--curve", action="store_true", help="CURVE throughput over tcp only")
    args = ap.parse_args()
    tools = {"zvtran": [args.zvtran, "perf"], "libzmq": [args.libzmq]}
    rounds = 1 if args.quick else args.rounds
    scale = 10 if args.quick else 1
    rows = []
    if args.curve:
        # Both perf tools read this and secure their sockets with the same fixed test keys.
        os.environ["ZVTRAN_PERF_CURVE"] = "1"
        rows = [("thr", "tcp", 64, 1_000_000 // scale), ("thr", "tcp", 1024, 500_000 // scale)]
    else:
        for transport in ["tcp", "ipc", "inproc"]:
            for size, count in SIZES:
                rows.append(("thr", transport, size, count // scale))
        for transport in ["tcp", "ipc", "inproc"]:
            rows.append(("lat", transport, LAT_SIZE, LAT_COUNT // scale))
    print("| test | transport | size | libzmq | zvtran | zvtran / libzmq |")
    print("| --- | --- | ---: | ---: | ---: | ---: |")
    with tempfile.TemporaryDirectory() as tmp:
        for kind, transport, size, count in rows:
            got = {"zvtran": [], "libzmq": []}
            for r in range(rounds):
                order = ["libzmq", "zvtran"] if r % 2 == 0 else ["zvtran", "libzmq"]
                for name in order:
                    got[name].append(run(tools[name], kind, transport, size, count, tmp))
            z, l = statistics.median(got["zvtran"]), statistics.median(got["libzmq"])
            if kind == "thr":
                test = "CURVE PUSH/PULL throughput" if args.curve else "PUSH/PULL throughput"
                cell = lambda v: f"{v / 1e6:.2f} M msg/s" if v >= 1e6 else f"{v / 1e3:.1f} K msg/s"
                ratio = z / l
            else:
                test = "REQ/REP latency"
                cell = lambda v: f"{v:.1f} µs"
                ratio = z / l
            print(f"| {test} | {transport} | {size} B | {cell(l)} | {cell(z)} | {ratio:.2f} |", flush=True)


if __name__ == "__main__":
    main()
