"""The shared demo link on a small host: start-up time and the server's memory.

    python -m benchmarks.demo_memory [--visitors 10]

Serves the repository's shipped runs the way a free host does (`streamlit run app.py` with demo
mode on, offline, an empty home, data and cache folders) and prints, as JSON lines:

- seconds from `streamlit run` to the Home page's best-checkpoint grids shown in Chromium (the
  browser is started first, so its own start-up is not counted);
- the server's resident memory after start-up (health check answered, no page served), after
  the Home page, after one visitor walked every page of every shipped run (Gallery with a drawn
  sample, interpolation and training animation, Evaluate with its charts, Train), and after
  ``--visitors`` concurrent visitors (browser pages of their own) walked all of it again.

Target (issue 14): under 690 MB after ten visitors, the smallest memory Streamlit Community Cloud
gives an app, and under 10 s to the Home page.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from pathlib import Path

from benchmarks.appdriver import CHROMIUM, CHROMIUM_ARGS, host_env, rss_mb, serve, shipped_runs

TIMEOUT_MS = 180_000


async def _settled(page) -> None:
    await page.wait_for_selector('[data-testid="stApp"]', timeout=TIMEOUT_MS)
    await page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=TIMEOUT_MS
    )


async def _count(page, selector: str, count: int) -> None:
    await page.wait_for_function(
        f"() => document.querySelectorAll({selector!r}).length >= {count}", timeout=TIMEOUT_MS
    )


async def walk(page, url: str, runs: list[str]) -> None:
    """One visitor: Home, then every shipped run's Gallery and Evaluate, then Train."""
    await page.goto(url)
    await _count(page, '[data-testid="stImage"] img', 2)
    for run in runs:
        await page.goto(f"{url}/gallery?run={run}")
        await _count(page, '[data-testid="stImage"] img', 6)  # grids, samples, strip, animation
        await _settled(page)
        await page.goto(f"{url}/evaluate?run={run}")
        await _count(page, ".js-plotly-plot", 5)
        await _settled(page)
    await page.goto(f"{url}/train")
    await page.get_by_role("heading", name="Train", exact=True).wait_for(timeout=TIMEOUT_MS)
    await _settled(page)


async def measure(visitors: int) -> None:
    from playwright.async_api import async_playwright

    folder = Path(tempfile.mkdtemp(prefix="demo-memory-"))
    runs_dir = shipped_runs(folder / "runs")
    runs = sorted(p.name for p in runs_dir.iterdir())

    def report(what: str, **figures) -> None:
        print(json.dumps({"what": what, **figures}), flush=True)

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        first = await browser.new_page(viewport={"width": 1400, "height": 1000})
        with serve(runs_dir, folder / "streamlit.log", host_env(folder / "home")) as server:
            report("after start-up", server_rss_mb=round(rss_mb(server.pid), 1))
            await first.goto(server.url)
            await _count(first, '[data-testid="stImage"] img', 2)
            report(
                "Home shown",
                seconds_from_streamlit_run=round(time.monotonic() - server.started, 2),
                server_rss_mb=round(rss_mb(server.pid), 1),
            )
            await walk(first, server.url, runs)
            report("one visitor walked every page", server_rss_mb=round(rss_mb(server.pid), 1))
            contexts = [
                await browser.new_context(viewport={"width": 1400, "height": 1000}) for _ in range(visitors)
            ]
            pages = [await c.new_page() for c in contexts]
            started = time.monotonic()
            await asyncio.gather(*(walk(page, server.url, runs) for page in pages))
            report(
                f"{visitors} concurrent visitors walked every page",
                seconds=round(time.monotonic() - started, 1),
                server_rss_mb=round(rss_mb(server.pid), 1),
            )
            errors = server.log().count("Traceback")
            report("server log", tracebacks=errors)
        await browser.close()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--visitors", type=int, default=10)
    args = parser.parse_args()
    asyncio.run(measure(args.visitors))


if __name__ == "__main__":
    main()
