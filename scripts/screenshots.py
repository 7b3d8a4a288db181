"""The live Train page for the README: `streamlit run app.py` on a copy of the shipped runs, driven
by Chromium, a run of the form's defaults with 160-step epochs (digits form within a minute).

    python scripts/screenshots.py        # docs/screenshots/train-first-checkpoint.png and train.png

The other pages' screenshots come from tests/test_browser.py (tests/artifacts/).
"""

from __future__ import annotations

import re
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.appdriver import chromium, serve, settle, shipped_runs  # noqa: E402

OUT = ROOT / "docs" / "screenshots"


def quality_points(run: Path) -> int:
    path = run / "quality.jsonl"
    return len(path.read_text().splitlines()) if path.exists() else 0


def main() -> None:
    scratch = Path(tempfile.mkdtemp(prefix="screenshots-"))
    runs = shipped_runs(scratch / "runs")
    with serve(runs, scratch / "streamlit.log") as server, chromium() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(f"{server.url}/train")
        settle(page)
        page.get_by_role("textbox", name="Run name (empty: automatic)").fill("screenshot")
        for label, value in [("Epochs", "100"), ("Steps per epoch (0 = all)", "160")]:
            field = page.get_by_role("spinbutton", name=label, exact=True)
            field.fill(value)
            field.press("Tab")
        page.get_by_role("button", name="Start", exact=True).click()
        for count, name in [(1, "train-first-checkpoint"), (6, "train")]:
            deadline = time.monotonic() + 300
            while quality_points(runs / "screenshot") < count and time.monotonic() < deadline:
                time.sleep(0.5)
            page.get_by_text(re.compile(r"Quick FID \(n=")).first.wait_for(timeout=60_000)
            time.sleep(5)  # the charts' next redraw
            page.screenshot(path=str(OUT / f"{name}.png"))
            print(f"wrote {OUT / name}.png")
        page.get_by_role("button", name="Stop").click()
        page.get_by_text("screenshot · stopped").wait_for(timeout=60_000)


if __name__ == "__main__":
    main()
