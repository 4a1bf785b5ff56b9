"""Shared by the bench scripts: one zvtran PUSH/PULL throughput run, and number formatting."""
import re
import subprocess
import time


def thr(zvtran, endpoint, size, count):
    """Runs `zvtran perf local_thr` and `remote_thr` on `endpoint`; the receiver's msg/s."""
    lo = subprocess.Popen([zvtran, "perf", "local_thr", endpoint, str(size), str(count)],
                          stdout=subprocess.PIPE, text=True)
    time.sleep(0.3)
    subprocess.run([zvtran, "perf", "remote_thr", endpoint, str(size), str(count)], check=True,
                   stdout=subprocess.DEVNULL, timeout=600)
    out, _ = lo.communicate(timeout=600)
    if lo.returncode:
        raise SystemExit(f"local_thr {endpoint} failed")
    return float(re.search(r"mean throughput: (\d+) \[msg/s\]", out).group(1))


def fmt(v):
    """1.23 M or 45.6 K."""
    return f"{v / 1e6:.2f} M" if v >= 1e6 else f"{v / 1e3:.1f} K"
