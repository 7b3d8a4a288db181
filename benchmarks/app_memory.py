"""Resident memory of the app process while it trains with a page polling it.

    python -m benchmarks.app_memory --minutes 20

Starts `streamlit run app.py` on a free localhost port (runs in a temporary folder), opens the
Train page in headless Chromium, starts a run with the form's defaults, keeps the page open (its
fragment polls every second) and prints the resident memory of the server and of its training
worker process every 30 s, then the server's growth.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from benchmarks.appdriver import child_pids, chromium, rss_mb, serve, shipped_runs, start_run_from_form


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--minutes", type=float, default=20)
    args = parser.parse_args()

    runs = shipped_runs(Path(tempfile.mkdtemp(prefix="mem-")))
    with serve(runs, runs / "streamlit.log") as server, chromium() as browser:
        page = browser.new_page()
        start_run_from_form(page, server.url, "memory")
        start, readings = time.monotonic(), []
        while time.monotonic() - start < args.minutes * 60:
            readings.append((time.monotonic() - start, rss_mb(server.pid)))
            worker = sum(rss_mb(pid) for pid in child_pids(server.pid))
            print(
                f"{readings[-1][0]:7.0f} s  server RSS {readings[-1][1]:8.1f} MB  worker {worker:8.1f} MB",
                flush=True,
            )
            time.sleep(30)
        page.get_by_role("button", name="Stop").click()
    # Growth after the first minute (TensorFlow's graphs and the first checkpoint are built by then).
    settled = [mb for t, mb in readings if t >= 60] or [readings[-1][1]]
    print(
        f"RSS after 1 min {settled[0]:.1f} MB, at the end {readings[-1][1]:.1f} MB, growth {readings[-1][1] - settled[0]:+.1f} MB"
    )


if __name__ == "__main__":
    main()
