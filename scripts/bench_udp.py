"""UDP benchmark: zvtran RADIO -> DISH over loopback beside the raw ceilings, in one run.

Usage: bench_udp.py ZVTRAN UDP_PEER [--rounds N] [--rate R] [--count N]
Rows (medians of N rounds): the raw one-datagram-per-call ceiling (sendto/recv), the
sendmmsg ceiling (the fallback without GSO), the raw GSO/GRO ceiling, and zvtran RADIO -> DISH with the sender paced at R messages a second (udp
has no flow control; SNDHWM=RCVHWM=0 so the queues absorb the pacing bursts). Loss is what
did not arrive. Towards a libzmq DISH (tests/udp-peer, libzmq with its draft API, no GRO),
a plain sendto sender and the zvtran RADIO both send as fast as they can and the DISH's
received rate is compared, their rounds alternating, as a ratio per pair of rounds.
"""
import argparse
import os
import re
import statistics
import subprocess
import time

PORT = [47700]


def parse(out):
    got = int(re.search(r"received: (\d+)", out).group(1))
    thr = float(re.search(r"mean throughput: (\d+) \[msg/s\]", out).group(1))
    return got, thr


def ceiling(zvtran, mode, size, count):
    out = subprocess.run([zvtran, "perf", "udp_ceiling", mode, str(size), str(count)],
                         stdout=subprocess.PIPE, text=True, check=True, timeout=300).stdout
    return parse(out)


def radio_dish(zvtran, size, count, rate):
    PORT[0] += 1
    ep = f"udp://127.0.0.1:{PORT[0]}"
    env = dict(os.environ, ZVTRAN_PERF_HWM="0", ZVTRAN_PERF_RATE=str(rate))
    dish = subprocess.Popen([zvtran, "perf", "dish_thr", ep, str(size), str(count)],
                            stdout=subprocess.PIPE, text=True, env=env)
    time.sleep(0.3)
    subprocess.run([zvtran, "perf", "radio_thr", ep, str(size), str(count)], check=True,
                   env=env, timeout=300)
    out, _ = dish.communicate(timeout=300)
    if dish.returncode:
        raise SystemExit("dish_thr failed")
    return parse(out)


def to_libzmq(zvtran, peer, sender, size, count):
    PORT[0] += 1
    ep = f"udp://127.0.0.1:{PORT[0]}"
    env = dict(os.environ, ZVTRAN_PERF_HWM="0")
    env.pop("ZVTRAN_PERF_RATE", None)
    dish = subprocess.Popen([peer, "dish_count", ep, "perf", str(count), "1000"],
                            stdout=subprocess.PIPE, text=True)
    assert dish.stdout.readline().strip() == "READY"
    tool = "udp_raw_send" if sender == "raw" else "radio_thr"
    subprocess.run([zvtran, "perf", tool, ep, str(size), str(count)], check=True, env=env,
                   timeout=300)
    out, _ = dish.communicate(timeout=300)
    return parse(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("zvtran")
    ap.add_argument("peer")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--rate", type=int, default=3_200_000)
    ap.add_argument("--count", type=int, default=3_000_000)
    args = ap.parse_args()
    size, count = 64, args.count
    rows = [
        ("raw ceiling: one datagram per call (sendto/recv)", lambda: ceiling(args.zvtran, "sendto", size, count)),
        ("raw ceiling: sendmmsg (64 per call), recvmmsg (32 per call), no GSO/GRO",
         lambda: ceiling(args.zvtran, "sendmmsg", size, count)),
        ("raw ceiling: GSO send, GRO receive", lambda: ceiling(args.zvtran, "gso", size, count)),
        (f"zvtran RADIO -> DISH, sender paced at {args.rate / 1e6:.1f} M msg/s",
         lambda: radio_dish(args.zvtran, size, count, args.rate)),
    ]
    print(f"| test (64 B, {count:,} messages, median of {args.rounds}) | received msg/s | loss (each round) |")
    print("| --- | ---: | --- |")
    for name, run in rows:
        results = [run() for _ in range(args.rounds)]
        report(name, results, count)
    # The libzmq DISH is the bottleneck of both senders: their rounds alternate so that the
    # machine's drift touches both alike, and the ratio is taken per pair of rounds.
    raw, radio = [], []
    for _ in range(args.rounds):
        raw.append(to_libzmq(args.zvtran, args.peer, "raw", size, count))
        radio.append(to_libzmq(args.zvtran, args.peer, "radio", size, count))
    report("to a libzmq DISH: plain sendto sender, unpaced", raw, count)
    report("to a libzmq DISH: zvtran RADIO, unpaced", radio, count)
    ratios = sorted(b[1] / a[1] for a, b in zip(raw, radio))
    print(f"| libzmq DISH fed by zvtran RADIO / fed by sendto (per pair) | "
          f"{statistics.median(ratios):.2f} x | {', '.join(f'{r:.2f}' for r in ratios)} |")


def report(name, results, count):
    thr = statistics.median(r[1] for r in results)
    losses = ", ".join(f"{(count - r[0]) * 100 / count:.3f} %" for r in results)
    print(f"| {name} | {thr / 1e6:.2f} M | {losses} |", flush=True)

if __name__ == "__main__":
    main()
