"""`steepest serve` in a real browser: headless Chromium (Debian's chromium and chromium-driver)
driven by Selenium.

Without a browser these tests do not run, and say so loudly (in their skip reason and at the
end of the session); with STEEPEST_BROWSER_TESTS=required (as .ci/run sets) a missing browser
is a failure. After every test: the page logged no console error, and no request went
anywhere but the server on 127.0.0.1. Screenshots of each page go to test-output/browser/
(or $STEEPEST_TEST_OUTPUT).
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("fastapi", reason="steepest[serve] is part of the test extra")
from serve_support import HOSTILE, LiveServer, close, make_store, wait_until  # noqa: E402

from steepest.cli import main  # noqa: E402
from steepest.store import RunStore  # noqa: E402

CHROMIUM = os.environ.get("STEEPEST_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("STEEPEST_CHROMEDRIVER", "/usr/bin/chromedriver")
REQUIRED = os.environ.get("STEEPEST_BROWSER_TESTS", "") == "required"
NOT_RUN = "BROWSER TESTS DID NOT RUN"
OUTPUT = Path(os.environ.get("STEEPEST_TEST_OUTPUT",
                             Path(__file__).resolve().parents[1] / "test-output")) / "browser"


def _missing() -> str | None:
    for what, path in (("chromium", CHROMIUM), ("chromedriver", CHROMEDRIVER)):
        if not (Path(path).is_file() and os.access(path, os.X_OK)):
            return f"{what} not found at {path} (apt-get install chromium chromium-driver)"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (it is in the test extra)"
    return None


@pytest.fixture(scope="module")
def driver():
    missing = _missing()
    if missing:
        if REQUIRED:
            pytest.fail(f"STEEPEST_BROWSER_TESTS=required, but {missing}")
        pytest.skip(f"{NOT_RUN}: {missing}")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="steepest-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                     "--no-first-run", "--disable-background-networking",
                     "--disable-component-update", "--disable-sync",
                     "--disable-default-apps", "--disable-extensions",
                     "--window-size=1500,1100", f"--user-data-dir={profile}",
                     # nothing but 127.0.0.1 resolves, so a stray request fails loudly too
                     "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    browser = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    browser.set_script_timeout(30)
    OUTPUT.mkdir(parents=True, exist_ok=True)
    try:
        yield browser
    finally:
        browser.quit()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture(scope="module")
def db(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("browser") / "runs.db"
    make_store(path, runs=4, steps=400).close()
    return path


@pytest.fixture(scope="module")
def server(db):
    with LiveServer(db) as live:
        yield live


@pytest.fixture(autouse=True)
def clean_page(driver, server):
    """Every test: no console error and no request off 127.0.0.1 during it."""
    driver.get_log("browser")
    driver.get_log("performance")
    yield
    errors = [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    assert not errors, f"console errors: {errors}"
    allowed = f"http://127.0.0.1:{server.port}/"
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            url = message["params"]["request"]["url"]
            assert url.startswith(allowed) or url.startswith("data:"), url


def js(driver, script: str, *args):
    return driver.execute_script(script, *args)


def open_page(driver, server, path: str) -> None:
    driver.get(server.url + path)
    wait_until(lambda: js(driver, "return document.readyState") == "complete", 20,
               what=f"{path} to load")


def screenshot(driver, name: str) -> None:
    """The whole page (the window grown to its height for the picture)."""
    height = js(driver, "return document.documentElement.scrollHeight")
    driver.set_window_size(1500, max(1100, height + 140))
    time.sleep(0.3)
    driver.save_screenshot(str(OUTPUT / f"{name}.png"))
    driver.set_window_size(1500, 1100)


def runs_drawn(driver) -> dict:
    return js(driver, "return (window.steepest.debug || {}).runs || null;")


def run_rows(driver) -> list[tuple[str, str]]:
    return js(driver, """
        return [...document.querySelectorAll('#runs-table tbody tr')].map(
            (r) => [r.dataset.run, r.querySelector('.name').textContent]);""")


# ---------------------------------------------------------------------------- the runs
def test_run_list_shows_the_runs_and_a_hostile_name_as_text(driver, server):
    open_page(driver, server, "/")
    wait_until(lambda: len(run_rows(driver)) == 4, 20, what="four runs in the list")
    rows = dict(run_rows(driver))
    assert rows == {"1": "adam lr 0.01", "2": "adam lr 0.003", "3": "adam lr 0.01",
                    "4": HOSTILE}
    assert js(driver, "return document.querySelectorAll('main img').length") == 0
    assert js(driver, "return window.__pwned === undefined")
    wait_until(lambda: (runs_drawn(driver) or {}).get("labels"), 20, what="the chart")
    assert len(runs_drawn(driver)["labels"]) == 4
    time.sleep(0.6)  # a chart fitted to its data is not a zoom (nor reloaded as one)
    assert "start=" not in driver.find_element("id", "chart-csv").get_attribute("href")
    assert runs_drawn(driver)["x"][-1] == 400
    # the details of the newest run show its name as text, and the command reproducing it
    title = wait_until(lambda: js(driver, "return document.getElementById('run-title')"
                                          ".textContent"), 10, what="run details")
    assert title == f"#4 {HOSTILE}"
    assert js(driver, "return document.getElementById('run-command').textContent") == \
        "steepest train --lr 0.003"
    # and so are the other strings it stored: its config and results
    cells = js(driver, """return [...document.querySelectorAll('#run-config td, #run-results td')]
        .map((td) => td.textContent);""")
    assert cells.count(HOSTILE) == 2
    assert js(driver, "return document.querySelectorAll('img').length") == 0
    screenshot(driver, "runs")


def test_regex_filter_hides_runs(driver, server):
    open_page(driver, server, "/")
    wait_until(lambda: len(run_rows(driver)) == 4, 20, what="the run list")
    box = driver.find_element("id", "runs-filter")
    box.send_keys('"lr":0\\.003')
    wait_until(lambda: [r[0] for r in run_rows(driver)] == ["4", "2"], 10,
               what="the filter to keep runs 2 and 4")
    wait_until(lambda: len(runs_drawn(driver)["labels"]) == 2, 10, what="two lines")
    assert "lr=0.003" not in driver.current_url and "filter=" in driver.current_url
    box.clear()
    box.send_keys("(unclosed")
    wait_until(lambda: js(driver, "return !document.getElementById('runs-filter-error')"
                                  ".hidden"), 10, what="the filter's error")
    assert len(run_rows(driver)) == 2  # a bad expression changes nothing


def _csv(driver) -> str:
    return driver.execute_async_script("""
        const done = arguments[arguments.length - 1];
        fetch(document.getElementById('chart-csv').href).then((r) => r.text()).then(done);""")


def test_smoothing_changes_the_drawn_series_but_not_the_csv(driver, server, db):
    from selenium.webdriver.support.ui import Select

    open_page(driver, server, "/?runs=1,2")
    wait_until(lambda: len((runs_drawn(driver) or {}).get("labels", [])) == 2, 20,
               what="two lines")
    raw = runs_drawn(driver)["drawn"]
    csv_before = _csv(driver)
    Select(driver.find_element("id", "chart-smooth")).select_by_value("ema")
    wait_until(lambda: runs_drawn(driver)["drawn"] != raw, 10, what="the smoothed lines")
    smoothed = runs_drawn(driver)["drawn"]
    assert _csv(driver) == csv_before
    # what is drawn: the debiased EMA (weight 0.6) of the stored values, one bin per step
    store = RunStore(db, readonly=True)
    for index, run_id in enumerate((1, 2)):
        values = store.metric_series(run_id, "step", "loss")[1]
        last, expected = 0.0, []
        for k, value in enumerate(values, start=1):
            last = 0.6 * last + 0.4 * value
            expected.append(last / (1 - 0.6 ** k))
        assert np.allclose(smoothed[index], expected, rtol=1e-12)
        assert np.array_equal(raw[index], values)
    # and the CSV holds the stored rows themselves
    lines = csv_before.strip().split("\n")
    assert lines[0] == "run,name,step,wall_time,relative_time,loss"
    first = [line.split(",") for line in lines[1:401]]
    assert [float(row[5]) for row in first] == store.metric_series(1, "step", "loss")[1].tolist()
    store.close()
    Select(driver.find_element("id", "chart-smooth")).select_by_value("ma")
    wait_until(lambda: runs_drawn(driver)["drawn"] not in (raw, smoothed), 10,
               what="the moving average")
    assert _csv(driver) == csv_before
    screenshot(driver, "runs-smoothed")


def test_mean_and_band_over_seeds_and_the_other_axes(driver, server, db):
    from selenium.webdriver.support.ui import Select

    open_page(driver, server, "/?runs=1,2,3,4&group=1")
    wait_until(lambda: len((runs_drawn(driver) or {}).get("labels", [])) == 2, 20,
               what="two groups")
    drawn = runs_drawn(driver)
    # runs 1 and 3 (lr 0.01, seeds 0 and 1) make one group, 2 and 4 (lr 0.003) the other
    assert drawn["labels"] == ["lr 0.01 (2 runs)", "lr 0.003 (2 runs)"]
    store = RunStore(db, readonly=True)
    loss = {i: store.metric_series(i, "step", "loss")[1] for i in (1, 2, 3, 4)}
    for index, (a, b) in enumerate(((1, 3), (2, 4))):
        pair = np.stack([loss[a], loss[b]])
        mean, std = pair.mean(axis=0), pair.std(axis=0, ddof=1)
        assert np.allclose(drawn["drawn"][index], mean, rtol=1e-12)
        high, low = drawn["bands"][index]
        assert np.allclose(high, mean + std, rtol=1e-12)
        assert np.allclose(low, mean - std, rtol=1e-12)
    screenshot(driver, "runs-grouped")
    # time since each run started, on a log axis
    driver.find_element("id", "chart-group").click()
    Select(driver.find_element("id", "chart-axis")).select_by_value("relative")
    Select(driver.find_element("id", "chart-yscale")).select_by_value("log")
    wait_until(lambda: "axis=relative" in driver.current_url and "yscale=log" in
               driver.current_url and len(runs_drawn(driver)["labels"]) == 4, 10,
               what="the relative time axis")
    drawn = runs_drawn(driver)
    longest = max(store.run(i).duration for i in (1, 2, 3, 4))
    x = np.array(drawn["x"], dtype=float)
    assert x[0] >= 0 and x[-1] <= longest + 1.0 and np.all(np.diff(x) > 0)
    assert all(v is None or v > 0 for line in drawn["drawn"] for v in line)
    store.close()
    screenshot(driver, "runs-relative-log")


def test_the_csv_of_a_zoomed_chart_holds_the_rows_shown(driver, server, db):
    open_page(driver, server, "/?runs=1,3")
    wait_until(lambda: len((runs_drawn(driver) or {}).get("labels", [])) == 2, 20,
               what="two lines")
    js(driver, "document.getElementById('chart-box')._plot.setScale('x', {min: 100, max: 150});")
    wait_until(lambda: "start=100" in driver.find_element("id", "chart-csv")
               .get_attribute("href"), 10, what="the CSV link to follow the zoom")
    wait_until(lambda: runs_drawn(driver)["x"][0] >= 100, 10, what="the zoomed range's bins")
    assert runs_drawn(driver)["x"] == list(range(100, 151))  # the server sent them exactly
    rows = [line.split(",") for line in _csv(driver).strip().split("\n")[1:]]
    store = RunStore(db, readonly=True)
    for run_id in (1, 3):
        mine = [row for row in rows if row[0] == str(run_id)]
        assert [int(row[2]) for row in mine] == list(range(100, 151))
        values = store.metric_series(run_id, "step", "loss")[1][99:150]
        assert [float(row[5]) for row in mine] == values.tolist()
    store.close()


def test_a_run_written_during_the_test_appears_and_grows_without_reload(driver, server, db):
    open_page(driver, server, "/")
    wait_until(lambda: len(run_rows(driver)) == 4, 20, what="the run list")
    js(driver, "window.__same_page = true;")
    logged: dict[int, float] = {}
    stop = threading.Event()

    def write() -> None:
        with RunStore(db) as store:
            with store.start_run({"optimizer": "sgd", "lr": 0.1}, name="live run") as run:
                step = 0
                while not stop.is_set() and step < 60:
                    step += 1
                    run.log_step(step, loss=1.0 / step)  # flushed by the store within 0.5 s
                    logged[step] = time.monotonic()
                    time.sleep(0.2)

    writer = threading.Thread(target=write)
    writer.start()
    try:
        wait_until(lambda: "live run" in dict(run_rows(driver)).values(), 10,
                   what="the new run in the list")
        seen: dict[int, float] = {}

        def shown_step() -> int:
            drawn = runs_drawn(driver) or {}
            for label, values in zip(drawn.get("labels", []), drawn.get("drawn", []),
                                     strict=False):
                if label.startswith("#5 "):
                    filled = [i for i, v in enumerate(values) if v is not None]
                    return int(drawn["x"][filled[-1]]) if filled else 0
            return 0

        deadline = time.monotonic() + 8
        while time.monotonic() < deadline:
            step = shown_step()
            if step and step not in seen:
                seen[step] = time.monotonic()
            time.sleep(0.05)
    finally:
        stop.set()
        writer.join()
    assert js(driver, "return window.__same_page === true")  # never reloaded
    steps = sorted(seen)
    assert len(steps) >= 5 and steps[-1] > steps[0], steps  # it grew, several times
    delays = [seen[s] - logged[s] for s in steps if s in logged]
    assert max(delays) < 2.0, f"new steps appeared after {max(delays):.2f} s"
    wait_until(lambda: js(driver, """return [...document.querySelectorAll('#runs-table tr')]
        .some((r) => r.dataset.run === '5' && r.textContent.includes('finished'))"""), 10,
        what="the run to show finished")
    screenshot(driver, "runs-live")


def test_a_page_left_closes_its_streams(driver, server):
    # A browser opens at most six connections to a server, and Chromium keeps pages it left
    # in its back-forward cache with their event streams open: five pages left would leave
    # the sixth no connection. So a page closes its streams when it is hidden.
    for path in ("/", "/network"):
        open_page(driver, server, path)
        wait_until(lambda: js(driver, "return window.steepest.debug.streams.size") == 1, 20,
                   what=f"the stream of {path}")
        js(driver, "window.dispatchEvent(new PageTransitionEvent('pagehide', {persisted: true}))")
        assert js(driver, "return window.steepest.debug.streams.size") == 0


def test_run_page_shows_one_run(driver, server):
    open_page(driver, server, "/runs/2")
    wait_until(lambda: js(driver, "return document.getElementById('run-title').textContent")
               == "#2 adam lr 0.003", 20, what="run 2's details")
    wait_until(lambda: (runs_drawn(driver) or {}).get("labels") == ["#2 adam lr 0.003"], 20,
               what="run 2's chart")
    screenshot(driver, "run-page")


# ---------------------------------------------------------------------------- the race
def _race(driver) -> dict | None:
    return js(driver, "return (window.steepest.debug || {}).race || null;")


def test_race_equals_steepest_race(driver, server, tmp_path):
    query = ("surface=beale&optimizers=sgd,nesterov,adam&steps=150&start=1.2,-0.4"
             "&adam.lr=0.02&adam.betas=0.8,0.99&nesterov.momentum=0.8")
    open_page(driver, server, f"/playground?{query}")
    race = wait_until(lambda: _race(driver), 30, what="the race")
    assert race["request"]["start"] == [1.2, -0.4]
    command = js(driver, "return document.getElementById('race-command').textContent")
    assert command == ("steepest race --surface beale --optimizers sgd,nesterov,adam --steps 150 "
                       "--start=1.2,-0.4 --lr adam=0.02 --option nesterov.momentum=0.8 "
                       "--option adam.betas=0.8,0.99")
    out = tmp_path / "race.json"
    assert main([*shlex.split(command)[1:], "--json", str(out)]) == 0
    cli = json.loads(out.read_text())["paths"]
    drawn = js(driver, "return window.steepest.debug.racePaths")
    for page, theirs in zip(race["response"]["paths"], cli, strict=True):
        assert page["name"] == theirs["name"]
        assert close(page["points"], theirs["points"], 1e-12)
        assert close(page["losses"], theirs["losses"], 1e-12)
        assert close(drawn[page["name"]], theirs["points"], 1e-12)
    screenshot(driver, "race")


def test_dragging_the_start_point_changes_the_path(driver, server):
    from selenium.webdriver.common.action_chains import ActionChains

    open_page(driver, server, "/playground?surface=himmelblau&optimizers=sgd,adam&steps=200")
    before = wait_until(lambda: _race(driver), 30, what="the first race")
    start = js(driver, "return window.steepest.debug.raceStart")
    canvas = driver.find_element("id", "race-canvas")
    size = canvas.size
    actions = ActionChains(driver)
    actions.move_to_element_with_offset(canvas, start["x"] - size["width"] / 2,
                                        start["y"] - size["height"] / 2)
    actions.click_and_hold()
    for _ in range(6):
        actions.move_by_offset(15, -12)
    actions.release().perform()
    after = wait_until(lambda: (lambda r: r if r and r["request"]["start"] != start["start"]
                                else None)(_race(driver)), 20, what="a race from the new start")
    moved = after["request"]["start"]
    assert moved[0] > start["start"][0] and moved[1] > start["start"][1]
    wait_until(lambda: _race(driver)["request"]["start"] ==
               js(driver, "return window.steepest.debug.raceStart.start"), 20,
               what="the last drag's race")
    final = _race(driver)
    for old, new in zip(before["response"]["paths"], final["response"]["paths"], strict=True):
        assert close(new["points"][0], final["request"]["start"], 0.0)
        assert not close(new["points"], old["points"], 1e-6)
    assert "start=" + ",".join(str(c) for c in final["request"]["start"]).replace(
        ",", "%2C") in driver.current_url
    screenshot(driver, "race-dragged")


def _settled_race(driver) -> dict:
    """The race of the page's current settings, once no other is pending."""
    def settled():
        race = _race(driver)
        busy = js(driver, "return document.getElementById('status-line').textContent")
        return race if race and not busy else None
    return wait_until(settled, 30, what="the race to settle")


def test_the_url_holds_the_whole_race_and_the_internals_are_drawn(driver, server):
    from selenium.webdriver.support.ui import Select

    open_page(driver, server, "/playground?surface=himmelblau&optimizers=sgd,adam&steps=100")
    _settled_race(driver)
    Select(driver.find_element("id", "race-surface")).select_by_value("beale")
    wait_until(lambda: _race(driver)["request"]["surface"] == "beale", 30, what="beale")
    driver.find_element("id", "race-use-momentum").click()
    lr = driver.find_element("id", "race-opt-adam-lr")
    lr.clear()
    lr.send_keys("0.03\n")
    steps = driver.find_element("id", "race-steps")
    steps.clear()
    steps.send_keys("120\n")
    seed = driver.find_element("id", "race-seed")
    seed.clear()
    seed.send_keys("3\n")
    wait_until(lambda: _race(driver)["request"]["steps"] == 120, 30, what="120 steps")
    Select(driver.find_element("id", "race-inside")).select_by_value("adam")
    js(driver, """const s = document.getElementById('race-scrub'); s.value = 60;
                  s.dispatchEvent(new Event('input'));""")
    race = _settled_race(driver)
    request = race["request"]
    assert [o["name"] for o in request["optimizers"]] == ["sgd", "momentum", "adam"]
    assert request["optimizers"][2]["options"]["lr"] == 0.03 and request["seed"] == 3
    command = js(driver, "return document.getElementById('race-command').textContent")
    wait_until(lambda: "at=60" in driver.current_url, 10, what="the step in the URL")
    # a fresh load of the link gives the same race, optimizer inside and step
    link = driver.current_url
    driver.get("about:blank")
    open_page(driver, server, link[len(server.url):])
    again = _settled_race(driver)
    assert again["request"] == request and again["response"]["paths"] == race["response"]["paths"]
    assert js(driver, "return document.getElementById('race-command').textContent") == command
    assert js(driver, "return document.getElementById('race-inside').value") == "adam"
    assert js(driver, "return document.getElementById('race-scrub').value") == "60"
    # inside adam: at each step the gradient, both moments after the update and the step size
    # per coordinate, as computed
    titles = js(driver, """return [...document.querySelectorAll('#race-internals h4')]
        .map((h) => h.textContent);""")
    assert titles == ["gradient ∇f", "first moment m (velocity)", "second moment v (mean g²)",
                      "effective step size −Δw / g"]
    charts = js(driver, """return [...document.querySelectorAll('#race-internals .chart-small')]
        .map((box) => box._plot.data);""")
    adam = again["response"]["paths"][2]
    for chart, rows in zip(charts, [adam["grads"], adam["states"]["exp_avg"][1:],
                                    adam["states"]["exp_avg_sq"][1:], adam["step_sizes"]],
                           strict=True):
        assert chart[0] == list(range(121))  # the points: 120 steps and the last point
        rows = rows + [None] * (121 - len(rows))
        for coordinate in (0, 1):
            expected = [None if row is None else row[coordinate] for row in rows]
            drawn = chart[1 + coordinate]
            assert all(d is None or d == e for d, e in zip(drawn, expected, strict=True))
            assert sum(d is not None for d in drawn) >= 60  # log panels leave out d <= 0
    screenshot(driver, "race-inside")


# ---------------------------------------------------------------------------- the network
def test_live_network_trains_in_the_page(driver, server):
    open_page(driver, server, "/network?dataset=xor&steps=400&activation=relu&width=8")
    wait_until(lambda: js(driver, "return (window.steepest.debug || {}).network || null"), 20,
               what="the network session")
    # every optimizer (with a spec), activation, initialisation and regulariser of the library
    from steepest import models
    from steepest.lab import OPTIMIZERS
    from steepest.lab.compare import REGULARISERS
    from steepest.lab.gradients import INITS

    offered = js(driver, """const values = (id) => [...document.getElementById(id).options]
            .map((o) => o.value);
        return {optimizer: values('net-optimizer'), activation: values('net-activation'),
                init: values('net-init'), regulariser: values('net-regulariser')};""")
    assert offered == {
        "optimizer": [name for name in OPTIMIZERS if name != "random-search"],
        "activation": list(models.ACTIVATIONS),
        "init": [name for name in INITS if "<" not in name] + ["normal:0.05"],
        "regulariser": list(REGULARISERS)}
    driver.find_element("id", "net-play").click()
    state = wait_until(lambda: (lambda n: n if n["status"] == "finished" else None)(
        js(driver, "return window.steepest.debug.network")), 60, what="training to finish")
    assert state["step"] == 400 and state["losses"] == 400
    progress = js(driver, "return document.getElementById('net-progress').textContent")
    assert "step 400 of 400" in progress and "test" in progress
    time.sleep(0.5)  # the charts redraw at most four times a second
    screenshot(driver, "network")
