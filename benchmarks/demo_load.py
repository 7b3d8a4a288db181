"""The public demo link under a crowd: many visitors clicking through every page at once.

    python -m benchmarks.demo_load [--sessions 30] [--seconds 120] [--clients websocket|chromium]

Serves the shipped runs as a free host does (`streamlit run app.py`, demo mode, offline, an empty
home and data folder), then ``--sessions`` visitors, each a websocket session of its own, walk
Home, the Gallery and Evaluate of a shipped run, and Train, over and over for ``--seconds``.
Samples the server's resident memory every second. Prints one JSON line: pages, their median and
90th-percentile seconds, pages with an exception, server tracebacks, the server's largest RSS,
and the CPU cores the server and the clients used.

``websocket`` (the default) visitors speak Streamlit's own protocol as its web page does: ask
for a page (a ``rerun_script`` message with the page and its query string), read every element
the server sends until the script run finishes, and fetch the images it names from /media. A
page's seconds are the server's whole answer, and the clients cost next to nothing, so on 2
cores the figure is the server's. ``chromium`` visitors are real browser pages: 30 Chromium
renderers on the same 2 cores measure mostly the browsers (kept as the end-to-end check).
Target (issue 23): RSS under 690 MB, no error.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import statistics
import tempfile
import time
import urllib.request
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
# (page, query string) a websocket visitor asks for in turn; {run}: a shipped run.
PAGES = [("", ""), ("gallery", "run={run}"), ("evaluate", "run={run}"), ("train", "")]
MEDIA = re.compile(rb"/media/[0-9a-f]+\.(?:png|gif|jpeg)")


async def ask(ws, url: str, page: str, query: str) -> int:
    """One page over the websocket, with its images: returns how many exceptions it showed."""
    from streamlit.proto.BackMsg_pb2 import BackMsg
    from streamlit.proto.ClientState_pb2 import ClientState
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    await ws.send(BackMsg(rerun_script=ClientState(query_string=query, page_name=page)).SerializeToString())
    exceptions, media = 0, set()
    while True:
        raw = await ws.recv()
        message = ForwardMsg()
        message.ParseFromString(raw)
        kind = message.WhichOneof("type")
        media.update(MEDIA.findall(raw))
        if kind == "delta" and message.delta.WhichOneof("type") == "new_element":
            exceptions += message.delta.new_element.WhichOneof("type") == "exception"
        if kind == "script_finished":
            break
    for path in media:
        await asyncio.to_thread(lambda p=path: urllib.request.urlopen(url + p.decode(), timeout=60).read())
    return exceptions


async def visit_over_websocket(url: str, runs: list[str], until: float, tally: dict) -> None:
    import websockets

    stream = url.replace("http", "ws", 1) + "/_stcore/stream"
    async with websockets.connect(stream, subprotocols=["streamlit"], max_size=None) as ws:
        turn = 0
        while time.monotonic() < until:
            for page, query in PAGES:
                started = time.monotonic()
                try:
                    tally["exceptions"] += await asyncio.wait_for(
                        ask(ws, url, page, query.format(run=runs[turn % len(runs)])), TIMEOUT_MS / 1000
                    )
                except Exception as exc:  # counted, and the visitor goes on
                    tally["failed"].append(f"{page}: {type(exc).__name__}")
                    continue
                tally["seconds"].append(time.monotonic() - started)
                await asyncio.sleep(THINK_SEC)
            turn += 1


THINK_SEC = 1.0  # a visitor looks at a page a moment before the next click
# (path, what shows the page is drawn, how many of it)
WALK = [
    ("", '[data-testid="stImage"] img', 4),
    ("gallery?run={run}", '[data-testid="stImage"] img', 6),
    ("evaluate?run={run}", ".js-plotly-plot", 5),
    ("train", '[data-testid="stButton"], [data-testid="stFormSubmitButton"]', 1),
]


async def visit_in_chromium(page, url: str, runs: list[str], until: float, tally: dict) -> None:
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


async def measure(sessions: int, seconds: float, clients: str) -> dict:
    from playwright.async_api import async_playwright

    folder = Path(tempfile.mkdtemp(prefix="demo-load-"))
    runs_dir = shipped_runs(folder / "runs")
    runs = sorted(p.name for p in runs_dir.iterdir())
    env = {**host_env(folder / "home"), "GANLIB_DEMO_MAX_TABS": str(sessions + 10)}
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        with serve(runs_dir, folder / "streamlit.log", env) as server:
            pages = [
                await (await browser.new_context()).new_page()
                for _ in range(sessions if clients == "chromium" else 0)
            ]
            tally = {"seconds": [], "exceptions": 0, "failed": []}
            rss = [rss_mb(server.pid)]
            browsers = lambda: pids_named("chrom") if clients == "chromium" else [os.getpid()]  # noqa: E731
            groups = {"server": lambda: [server.pid], "clients": browsers}
            cpu_before = {name: cpu_seconds(pids()) for name, pids in groups.items()}
            started = time.monotonic()
            if clients == "chromium":
                visits = [
                    visit_in_chromium(page, server.url, runs, started + seconds, tally) for page in pages
                ]
            else:
                visits = [
                    visit_over_websocket(server.url, runs, started + seconds, tally) for _ in range(sessions)
                ]
            walking = asyncio.gather(*visits)
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
                "clients": clients,
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
    parser.add_argument("--clients", choices=["websocket", "chromium"], default="websocket")
    args = parser.parse_args()
    print(json.dumps(asyncio.run(measure(args.sessions, args.seconds, args.clients))))


if __name__ == "__main__":
    main()
