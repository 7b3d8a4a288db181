"""The public demo link under a crowd: many visitors clicking through every page at once.

    python -m benchmarks.demo_load [--sessions 30] [--seconds 120]

Serves the shipped runs as a free host does (`streamlit run app.py`, demo mode, offline, an empty
home and data folder), then ``--sessions`` Chromium pages (each a websocket session of its own)
walk Home, then the Gallery and Evaluate of a shipped run, then Train, over and over for
``--seconds``, each page counted once its content is drawn. Samples the server's resident
memory every second. Prints one JSON line: pages, their median and 90th-percentile seconds,
pages with an exception, server tracebacks, the server's largest RSS, and the CPU cores the
server and Chromium used.

Every session comes from 127.0.0.1, which the app counts as one address, so the per-address
tab cap is lifted here (GANLIB_DEMO_MAX_TABS); a real crowd comes from many addresses. Chromium
runs on the same 2 cores as the server: the latencies include the browsers' own rendering.
Target (issue 23): RSS under 690 MB, no error.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from pathlib import Path

from benchmarks.appdriver import (
    CHROMIUM,
    CHROMIUM_ARGS,
    cpu_seconds,
    host_env,
    pids_named,
    rss_mb,
    serve,
    shipped_runs,
)

TIMEOUT_MS = 180_000
# (path, what shows the page is drawn, how many of it)
WALK = [
    ("", '[data-testid="stImage"] img', 4),
    ("gallery?run={run}", '[data-testid="stImage"] img', 6),
    ("evaluate?run={run}", ".js-plotly-plot", 5),
    ("train", '[data-testid="stButton"], [data-testid="stFormSubmitButton"]', 1),
]


async def visit(page, url: str, runs: list[str], until: float, tally: dict) -> None:
    turn = 0
    while time.monotonic() < until:
        run = runs[turn % len(runs)]
        for path, selector, count in WALK:
            started = time.monotonic()
            try:
                await page.goto(f"{url}/{path.format(run=run)}")
                await page.wait_for_function(
                    f"() => document.querySelectorAll({selector!r}).length >= {count}", timeout=TIMEOUT_MS
                )
            except Exception as exc:  # a page that never drew: counted, and the walk goes on
                tally["failed"].append(f"{path}: {type(exc).__name__}")
                continue
            tally["seconds"].append(time.monotonic() - started)
            tally["exceptions"] += await page.locator('[data-testid="stException"]').count()
        turn += 1


async def measure(sessions: int, seconds: float) -> dict:
    from playwright.async_api import async_playwright

    folder = Path(tempfile.mkdtemp(prefix="demo-load-"))
    runs_dir = shipped_runs(folder / "runs")
    runs = sorted(p.name for p in runs_dir.iterdir())
    env = {**host_env(folder / "home"), "GANLIB_DEMO_MAX_TABS": str(sessions + 10)}
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        with serve(runs_dir, folder / "streamlit.log", env) as server:
            pages = [await (await browser.new_context()).new_page() for _ in range(sessions)]
            tally = {"seconds": [], "exceptions": 0, "failed": []}
            rss = [rss_mb(server.pid)]
            groups = {"server": lambda: [server.pid], "chromium": lambda: pids_named("chrom")}
            cpu_before = {name: cpu_seconds(pids()) for name, pids in groups.items()}
            started = time.monotonic()
            walking = asyncio.gather(
                *(visit(page, server.url, runs, started + seconds, tally) for page in pages)
            )
            while not walking.done():
                rss.append(rss_mb(server.pid))
                await asyncio.sleep(1)
            await walking
            wall = time.monotonic() - started
            cores = {
                name: round((cpu_seconds(pids()) - cpu_before[name]) / wall, 2)
                for name, pids in groups.items()
            }
            rss.append(rss_mb(server.pid))
            seconds_sorted = sorted(tally["seconds"])
            summary = {
                "sessions": sessions,
                "seconds": round(wall),
                "pages": len(seconds_sorted),
                "median_page_sec": round(statistics.median(seconds_sorted), 2) if seconds_sorted else None,
                "p90_page_sec": round(seconds_sorted[int(0.9 * (len(seconds_sorted) - 1))], 2)
                if seconds_sorted
                else None,
                "pages_not_drawn": len(tally["failed"]),
                "pages_with_an_exception": tally["exceptions"],
                "server_tracebacks": server.log().count("Traceback"),
                "rss_mb_start": round(rss[0]),
                "rss_mb_max": round(max(rss)),
                "rss_mb_end": round(rss[-1]),
                "cores_used": cores,
            }
        await browser.close()
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sessions", type=int, default=30)
    parser.add_argument("--seconds", type=float, default=120)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(measure(args.sessions, args.seconds))))


if __name__ == "__main__":
    main()
