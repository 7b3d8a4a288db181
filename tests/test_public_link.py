"""A visitor of the public demo link attacks it: forged widget values, a disabled button clicked,
uploads, many tabs, a run removed while read, a bad scratch folder. The host answers as usual,
its memory stays flat, the runs folder is unchanged byte for byte and the pages import no
TensorFlow (tests/test_inference.py walks them for that)."""

from __future__ import annotations

import os
import re
import shutil
import urllib.error
import urllib.request

import pytest
from conftest import ROOT, open_page, tiny_config, tree_digest
from streamlit.testing.v1 import AppTest
from streamlit.testing.v1.element_tree import Block

from benchmarks.appdriver import CHROMIUM, chromium, host_env, rss_mb, serve, shipped_runs
from ganlib import GanlibError, evaluation
from ganlib.runs.rundir import RunDir, list_runs
from ui import messages
from workbench.jobs import JobManager
from workbench.visitors import (
    FORGET_AFTER_SEC,
    VISITOR_CHOICES,
    TabCap,
    VisitorLimits,
    VisitorTraining,
    own_folder,
)


@pytest.fixture
def demo_runs(app_runs, monkeypatch):
    monkeypatch.setenv("GANLIB_DEMO", "1")
    return app_runs


def test_ten_thousand_copies_of_one_epoch_are_read_once(demo_runs, monkeypatch):
    reads = []
    original = evaluation.Engine.cached
    monkeypatch.setattr(evaluation.Engine, "cached", lambda self, e: reads.append(e) or original(self, e))
    at = open_page("pages/evaluate.py")
    epochs = RunDir(demo_runs, "demo-mnist").epochs()
    reads.clear()
    next(m for m in at.multiselect if m.label == "Epochs").set_value([epochs[2]] * 10_000).run()
    assert not at.exception
    assert reads == [epochs[2]]  # one cache read, one point
    fid = next(c for c in at.get("plotly_chart") if '"FID"' in c.proto.spec)
    assert len(re.search(r'"x":\[([^\]]*)\]', fid.proto.spec).group(1).split(",")) == 1
    reads.clear()
    next(m for m in at.multiselect if m.label == "Overlay the FID curves of").set_value(
        ["demo-fashion-mnist"] * 10_000
    ).run()
    assert not at.exception
    assert reads == [epochs[2], *RunDir(demo_runs, "demo-fashion-mnist").epochs()]  # each once


def _forge_click(at: AppTest, button) -> None:
    """What a forged websocket message does: the button's value sent as pressed, disabled or not
    (AppTest's own click() refuses a disabled button, as the browser does)."""
    button._value = True
    at.run()
    assert not at.exception, [e.value for e in at.exception]


def test_forged_clicks_on_disabled_buttons_change_nothing(demo_runs):
    before = tree_digest(demo_runs)
    at = open_page("pages/evaluate.py")
    assert [b.disabled for b in at.button if b.label.startswith("Mark epoch")] == [True]
    _forge_click(at, next(b for b in at.button if b.label.startswith("Mark epoch")))
    at.switch_page("pages/gallery.py").run()
    assert not [b for b in at.button if b.label.startswith("Show 8 samples")]  # not offered
    exports = {b.label for b in at.get("download_button")} & {
        "NumPy sampler (.zip)",
        "SavedModel (.zip)",
        "TFLite",
        "ONNX",
    }
    assert exports == {"NumPy sampler (.zip)"}  # the formats that need TensorFlow are not offered
    for label in [b.label for b in at.button if b.label.startswith("Mark epoch")]:
        _forge_click(at, next(b for b in at.button if b.label == label))
    at.switch_page("pages/train.py").run()
    for label in [b.label for b in at.button]:  # Start (a form's submit button) among them
        _forge_click(at, next(b for b in at.button if b.label == label))
    assert len(list_runs(demo_runs)) == len(list((ROOT / "checkpoints").iterdir()))  # no new run
    assert tree_digest(demo_runs) == before


def test_a_read_only_job_manager_starts_nothing(tmp_path):
    manager = JobManager(tmp_path, read_only=True)
    with pytest.raises(GanlibError, match="read-only demo"):
        manager.start(tiny_config(), "forged")
    with pytest.raises(GanlibError, match="read-only demo"):
        manager.resume_run("forged")
    manager.pause(), manager.stop()
    assert not list(tmp_path.iterdir())


def test_a_run_removed_while_a_page_reads_it_gives_a_sentence_not_a_traceback(demo_runs, monkeypatch):
    original = RunDir.config

    def vanish(self):  # pruned by the visitor queue after the page listed its checkpoints
        shutil.rmtree(self.path, ignore_errors=True)
        return original(self)

    at = open_page("pages/gallery.py")
    monkeypatch.setattr(RunDir, "config", vanish)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    said = [m.value for m in [*at.warning, *at.error]]
    assert said == ["no run at demo-mnist"], said  # the library's sentence, without the host's path


def test_listing_runs_skips_one_removed_meanwhile(tmp_path, monkeypatch):
    runs = shipped_runs(tmp_path / "runs")
    original = RunDir.exists

    def exists_then_vanish(self):
        found = original(self)
        if self.name == "demo-mnist":
            shutil.rmtree(self.path)
        return found

    monkeypatch.setattr(RunDir, "exists", exists_then_vanish)
    listed = [r.name for r in list_runs(runs)]
    assert "demo-mnist" not in listed and "demo-fashion-mnist" in listed


def test_messages_for_visitors_name_no_server_paths():
    text = "cannot read /srv/app/checkpoints/demo-mnist/epochs/0008/grid.png: truncated; C:\\runs\\x\\state.json bad"
    assert messages.public_text(text) == "cannot read grid.png: truncated; state.json bad"


def _limits(tmp_path, **changes) -> VisitorLimits:
    return VisitorLimits(seconds=30, scratch_dir=tmp_path / "scratch", **changes)


def test_one_client_holds_one_place_however_many_tabs_and_the_queue_has_a_cap(tmp_path):
    manager = JobManager(tmp_path / "scratch")
    visitors = VisitorTraining(
        manager, _limits(tmp_path, max_queue=3), choices={"tiny": tiny_config(epochs=1)}
    )
    visitors.manager.start = lambda *a, **k: None  # hold the queue: nothing trains
    visitors.manager.snapshot = lambda: type("S", (), {"active": True})()
    turns = [visitors.request(f"tab-{i}", client="203.0.113.7") for i in range(20)]
    assert turns[0].place == 1 and turns[0].refused is None
    assert all(t.place is None and "already has a place" in t.refused for t in turns[1:])
    others = [visitors.request(f"other-{i}", client=f"198.51.100.{i}") for i in range(4)]
    assert [t.place for t in others] == [2, 3, None] + [None]
    assert "queue is full" in others[2].refused


def test_one_address_holds_at_most_its_tabs_and_ended_ones_free_their_place():
    cap, live = TabCap(3), set()

    def admit(address, session):
        live.add(session)
        return cap.admit(address, session, lambda s: s in live)

    assert [admit("203.0.113.7", f"tab-{i}") for i in range(20)] == [True] * 3 + [False] * 17
    assert admit("203.0.113.7", "tab-0")  # an admitted tab runs on
    assert admit("198.51.100.1", "elsewhere")  # another address has its own
    live.discard("tab-1")  # a tab closed
    assert admit("203.0.113.7", "tab-5")
    assert all(admit(None, f"unknown-{i}") for i in range(20))  # no address: never grouped
    assert TabCap(0).admit("203.0.113.7", "x", lambda s: True)


def test_visitors_long_gone_are_forgotten(tmp_path):
    now = [0.0]
    visitors = VisitorTraining(JobManager(tmp_path / "scratch"), _limits(tmp_path), clock=lambda: now[0])
    for i in range(1000):
        visitors.poll(f"visitor-{i}")
    now[0] = FORGET_AFTER_SEC + 1
    visitors.poll("last")
    assert list(visitors._seen) == ["last"]


def test_a_run_that_cannot_start_is_told_to_its_visitor_and_the_queue_goes_on(tmp_path):
    manager = JobManager(tmp_path / "scratch")
    visitors = VisitorTraining(manager, _limits(tmp_path), choices={"tiny": tiny_config(epochs=1)})
    started = []

    def start(config, name, max_seconds=None):
        if not started:
            started.append(name)
            raise OSError("no room")
        started.append(name)

    manager.start = start
    first = visitors.request("a", client="1")
    assert first.place is None and "could not start" in first.error and not first.training
    visitors.request("b", client="2")
    assert len(started) == 2  # b's run started after a's failed


@pytest.mark.parametrize("where", ["same", "inside", "around"])
def test_a_scratch_folder_at_or_around_the_runs_folder_is_refused(tmp_path, where):
    runs = tmp_path / "runs"
    scratch = {"same": runs, "inside": runs / "visitors", "around": tmp_path}[where]
    with pytest.raises(GanlibError, match="apart from the runs folder"):
        VisitorLimits(seconds=30, scratch_dir=scratch).check(runs)
    VisitorLimits(seconds=30, scratch_dir=tmp_path / "scratch").check(runs)


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="needs root to chown")
def test_a_scratch_folder_another_user_made_first_is_refused(tmp_path):
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    os.chown(theirs, 65534, 65534)
    with pytest.raises(GanlibError, match="belongs to another user"):
        own_folder(theirs)
    link = tmp_path / "link"
    link.symlink_to(tmp_path / "elsewhere")
    (tmp_path / "elsewhere").mkdir()
    with pytest.raises(GanlibError, match="a link"):
        own_folder(link)


# -- through the real server -------------------------------------------------------------------------

needs_browser = pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed")


def _ids_sent_to(page) -> list[str]:
    """Every id in the server's first websocket message to a page (its session id among them),
    as a forger reads them."""
    found: list[str] = []

    def frames(ws):
        ws.on("framereceived", lambda payload: found or found.extend(_uuids(payload)))

    page.on("websocket", frames)
    return found


def _uuids(payload) -> list[str]:
    text = payload.decode("latin-1") if isinstance(payload, bytes) else payload
    return re.findall(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", text)


def _put(url: str, session: str, xsrf: str, size: int) -> int:
    boundary = "forged"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="x.bin"\r\n'
            f"Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        + os.urandom(size)
        + f"\r\n--{boundary}--\r\n".encode()
    )
    request = urllib.request.Request(
        f"{url}/_stcore/upload_file/{session}/{os.urandom(8).hex()}", data=body, method="PUT",
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}", "X-Xsrftoken": xsrf,
                 "Cookie": f"_streamlit_xsrf={xsrf}"},
    )  # fmt: skip
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except urllib.error.URLError:  # the server answered and closed before taking the whole body
        return 0


@needs_browser
@pytest.mark.slow
def test_uploads_to_a_live_session_are_refused_and_not_kept(tmp_path):
    runs = shipped_runs(tmp_path / "runs")
    env = {**host_env(tmp_path / "home"), "GANLIB_DEMO_MAX_TABS": "3"}
    before = tree_digest(runs)
    with serve(runs, tmp_path / "streamlit.log", env) as host, chromium() as browser:
        page = browser.new_page()
        ids = _ids_sent_to(page)
        page.goto(host.url)
        page.get_by_text("What the best checkpoints draw").wait_for(timeout=120_000)
        xsrf = next(c["value"] for c in page.context.cookies() if c["name"] == "_streamlit_xsrf")
        # Streamlit answers 400 to an id that is no live session: the one other answer is the session's.
        answers = {i: _put(host.url, i, xsrf, 1000) for i in set(ids)}
        sessions = [i for i, code in answers.items() if code != 400]
        assert len(sessions) == 1, answers
        codes = {_put(host.url, sessions[0], xsrf, 900_000) for _ in range(20)}
        assert codes == {403}, codes  # a live session's upload, refused by the app
        rss = rss_mb(host.pid)  # after the parser's buffers have grown once
        codes = {_put(host.url, sessions[0], xsrf, 900_000) for _ in range(200)}
        assert codes == {403}, codes
        # Kept, 200 x 0.9 MB would add 180 MB; the parser's passing buffers stay far below half.
        assert rss_mb(host.pid) < rss + 90, (rss, rss_mb(host.pid))
        assert _put(host.url, sessions[0], xsrf, 3_000_000) in (413, 0)  # over the 1 MB cap
        # From this machine Streamlit knows no address (as behind a proxy): tabs are not grouped.
        tabs = [browser.new_page() for _ in range(4)]
        for tab in tabs:
            tab.goto(host.url)
            tab.get_by_text("What the best checkpoints draw").wait_for(timeout=120_000)
        assert all(tab.get_by_text("open tabs from one address").count() == 0 for tab in tabs)
        assert "Traceback" not in host.log()
    assert tree_digest(runs) == before


def test_forged_steer_values_draw_nothing_strange_and_raise_nothing(demo_runs):
    # A forger sends slider and seed values no widget would: out of range, infinite, not a number.
    at = open_page("pages/gallery.py")
    for forged in [1e308, float("nan"), -float("inf")]:
        next(s for s in at.slider if s.label.startswith("ink · "))._value = forged
        at.run()
        assert not at.exception, [e.value for e in at.exception]
    for forged in [-5, 2**63]:
        next(n for n in at.number_input if n.label == "Base sample: seed")._value = forged
        at.run()
        assert not at.exception, [e.value for e in at.exception]
    captions = [i.proto.imgs[0].caption for i in at.get("image")]
    assert "seed 0: no slider moved" in captions  # the forged values were refused, the view drawn


def test_a_visitor_trains_only_a_setting_on_offer_and_a_forged_one_is_refused(tmp_path):
    manager = JobManager(tmp_path / "scratch")
    visitors = VisitorTraining(manager, _limits(tmp_path))  # the host's own offer: VISITOR_CHOICES
    started = []
    manager.start = lambda config, name, max_seconds=None: started.append(config)
    forged = visitors.request("mallory", client="1", choice="mnist with epochs=10**9")
    assert forged.place is None and "not one of the settings on offer" in forged.refused and not started
    toy = next(label for label in VISITOR_CHOICES if label.startswith("2-D toy"))
    visitors.request("alice", client="2", choice=toy)
    assert started == [VISITOR_CHOICES[toy]] and started[0].dataset.startswith("toy:")
    assert all(c.epochs == 10_000 for c in VISITOR_CHOICES.values())  # the host's time limit ends them


def _elements(node):
    """The page's elements in the order a reader meets them (blocks opened depth first)."""
    if isinstance(node, Block):
        for child in node.children.values():
            yield from _elements(child)
    else:
        yield node


def test_train_in_the_demo_says_first_why_nothing_trains_and_what_to_do_instead(demo_runs):
    at = open_page("pages/train.py")
    # The first thing below the title: the reason, then where to go; the form only after them.
    first = next(e for e in _elements(at.main) if e.type not in ("title", "empty"))
    assert "Training is switched off in this read-only demo" in first.value  # st.info
    links = [link.proto.page for link in at.get("page_link")]
    assert links[:3] == ["gallery", "home", "evaluate"]
    assert [b.disabled for b in at.button if b.label == "Start"] == [True]
