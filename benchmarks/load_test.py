"""Load: many sessions browse the app while a run trains; the run must keep its speed.

    python -m benchmarks.load_test [--sessions 10] [--seconds 90]

Starts `streamlit run app.py` on a free localhost port with the shipped runs, starts a run from
the Train form with its defaults, lets it settle, then measures its steps/s for ``--seconds``
with no page open, and again while ``--sessions`` concurrent Chromium pages (each a session of
its own) browse: each opens the Gallery of a shipped run (grids, new samples, interpolation,
contact sheet, animation), waits, opens Evaluate (charts, real images), waits, and so on, in
turn over both runs. Bounded in time and count, localhost only. Prints JSON lines: the two
rates and their ratio, pages rendered, pages that showed an exception, server tracebacks.

Read the ratio knowing that the browsers run on the same machine as the app: on 2 cores, ten
Chromium renderers compete with the trainer for the CPU (the summary says how many cores the
server, the worker and Chromium used). ``--nice-browsers`` gives Chromium the lowest CPU priority,
as if the visitors' browsers ran on their own machines.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import tempfile
import time
from pathlib import Path

from benchmarks.appdriver import (
    CHROMIUM,
    CHROMIUM_ARGS,
    child_pids,
    cpu_seconds,
    pids_named,
    serve,
    shipped_runs,
)
from ganlib.runs.records import PointKind
from ganlib.runs.rundir import RunDir

TIMEOUT_MS = 180_000
THINK_SEC = 3.0  # a person looks at a page for a few seconds before the next click


def steps_per_sec(run: RunDir, seconds: float) -> float:
    """The run's training speed over the next ``seconds``, from its history (trainer's clock)."""

    def last():
        newest = run.history(PointKind.STEP)[-1]
        return newest.step, newest.elapsed

    step0, elapsed0 = last()
    time.sleep(seconds)
    step1, elapsed1 = last()
    return (step1 - step0) / max(elapsed1 - elapsed0, 1e-9)


async def _start_run(page, url: str, name: str) -> None:
    await page.goto(f"{url}/train")
    await page.get_by_role("button", name="Start", exact=True).wait_for(timeout=TIMEOUT_MS)
    await page.get_by_role("textbox", name="Run name (empty: automatic)").fill(name)
    await page.get_by_role("button", name="Start", exact=True).click()
    await page.get_by_role("button", name="Stop").wait_for(timeout=TIMEOUT_MS)


async def browse(page, url: str, runs: list[str], until: float, tally: dict) -> None:
    turn = 0
    while time.monotonic() < until:
        run = runs[turn % len(runs)]
        for path, selector, count in ((f"gallery?run={run}", '[data-testid="stImage"] img', 6),
                                      (f"evaluate?run={run}", ".js-plotly-plot", 5)):  # fmt: skip
            await page.goto(f"{url}/{path}")
            await page.wait_for_function(
                f"() => document.querySelectorAll({selector!r}).length >= {count}", timeout=TIMEOUT_MS
            )
            tally["pages"] += 1
            tally["exceptions"] += await page.locator('[data-testid="stException"]').count()
            await asyncio.sleep(THINK_SEC)
        turn += 1


async def measure(sessions: int, seconds: float, niced: bool) -> None:
    from playwright.async_api import async_playwright

    folder = Path(tempfile.mkdtemp(prefix="load-"))
    runs_dir = shipped_runs(folder / "runs")
    runs = sorted(p.name for p in runs_dir.iterdir())
    run = RunDir(runs_dir, "under-load")
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        with serve(runs_dir, folder / "streamlit.log") as server:
            trainer = await browser.new_page()
            await _start_run(trainer, server.url, run.name)
            await trainer.close()  # the job trains on with no page open
            await asyncio.sleep(20)  # past TensorFlow's start-up in the worker
            alone = await asyncio.to_thread(steps_per_sec, run, seconds)
            print(json.dumps({"condition": "no page open", "steps_per_sec": round(alone, 2)}), flush=True)
            contexts = [
                await browser.new_context(viewport={"width": 1400, "height": 1000}) for _ in range(sessions)
            ]
            pages = [await c.new_page() for c in contexts]
            tally = {"pages": 0, "exceptions": 0}
            until = time.monotonic() + seconds + 30
            browsing = asyncio.gather(*(browse(page, server.url, runs, until, tally) for page in pages))
            await asyncio.sleep(30)  # every session has opened its first pages
            if niced:  # as if the browsers ran on the visitors' machines: they get what is left
                worker_group = Path(f"/proc/{child_pids(server.pid)[0]}/autogroup").read_text().split()[0]
                for pid in pids_named("chrom"):
                    with contextlib.suppress(OSError):
                        for thread in Path(f"/proc/{pid}/task").iterdir():  # nice is per thread
                            os.setpriority(os.PRIO_PROCESS, int(thread.name), 19)
                        # With autogroup scheduling, sessions share the CPU fairly whatever their
                        # threads' nice: lower the browser session's group too, not the app's.
                        autogroup = Path(f"/proc/{pid}/autogroup")
                        if autogroup.read_text().split()[0] != worker_group:
                            autogroup.write_text("19")
            groups = {
                "server": [server.pid],
                "worker": child_pids(server.pid),
                "chromium": pids_named("chrom"),
            }
            before = {name: cpu_seconds(pids) for name, pids in groups.items()}
            started = time.monotonic()
            loaded = await asyncio.to_thread(steps_per_sec, run, seconds)
            wall = time.monotonic() - started
            cores = {
                name: round((cpu_seconds(pids) - before[name]) / wall, 2) for name, pids in groups.items()
            }
            await browsing
            print(
                json.dumps({"condition": f"{sessions} sessions browsing", "steps_per_sec": round(loaded, 2)})
            )
            print(
                json.dumps(
                    {
                        "summary": {
                            "sessions": sessions,
                            "browsers_niced": niced,
                            "ratio": round(loaded / alone, 3),
                            "drop_percent": round(100 * (1 - loaded / alone), 1),
                            "pages_rendered": tally["pages"],
                            "pages_with_an_exception": tally["exceptions"],
                            "server_tracebacks": server.log().count("Traceback"),
                            "cores_used_while_browsing": cores,
                        }
                    }
                )
            )
        await browser.close()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sessions", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=90)
    parser.add_argument(
        "--nice-browsers", action="store_true", help="run Chromium at the lowest CPU priority (nice 19)"
    )
    args = parser.parse_args()
    asyncio.run(measure(args.sessions, args.seconds, args.nice_browsers))


if __name__ == "__main__":
    main()
