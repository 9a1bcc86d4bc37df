"""`steepest serve` without a browser: the HTTP API, its security rules, the race against
`steepest race`, downsampling, CSV, server-sent events, the live network, the CLI."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import re
import shlex
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("fastapi", reason="steepest[serve] is part of the test extra")
from fastapi.testclient import TestClient  # noqa: E402
from serve_support import HOSTILE, LiveServer, close, loss_curve, make_store  # noqa: E402

from steepest.cli import main  # noqa: E402
from steepest.lab import OPTIMIZERS, SURFACES, race  # noqa: E402
from steepest.serve import playground  # noqa: E402
from steepest.serve.app import STATIC_DIR, create_app  # noqa: E402
from steepest.serve.dashboard import bin_edges, bucket  # noqa: E402
from steepest.store import RunStore  # noqa: E402

PORT = 8765
BASE = f"http://127.0.0.1:{PORT}"

# The vendored chart library, pinned: uPlot 1.6.32 from the npm registry (`npm pack
# uplot@1.6.32`), unmodified.
VENDORED = {
    "vendor/uPlot.iife.min.js":
        "19c8d4c6ad88929a79f4ae49d6f7161566dfd0ba3d15cc495e974f787eb78f1f",
    "vendor/uPlot.min.css": "df630c6a8d6f8eeaff264b50f73ce5b114f646ffd9a0bb74f049b0a00135fa04",
    "vendor/uPlot.LICENSE.txt":
        "8f989229699b4fe2f1a0432d0e9edc338a8a911e250e2d1b01ecd770a5f5b1bd",
}


@pytest.fixture
def db(tmp_path: Path) -> Path:
    make_store(tmp_path / "runs.db").close()
    return tmp_path / "runs.db"


@pytest.fixture
def client(db: Path):
    with TestClient(create_app(db, port=PORT), base_url=BASE) as test_client:
        yield test_client


# ---------------------------------------------------------------------------- files
def test_vendored_chart_library_is_the_pinned_release_with_its_licence():
    for name, digest in VENDORED.items():
        assert hashlib.sha256((STATIC_DIR / name).read_bytes()).hexdigest() == digest, name
    assert (STATIC_DIR / "vendor/uPlot.iife.min.js").read_text().startswith(
        "/*! https://github.com/leeoniya/uPlot (v1.6.32) */")
    assert "MIT License" in (STATIC_DIR / "vendor/uPlot.LICENSE.txt").read_text()


def test_pages_load_nothing_from_outside_the_machine():
    for path in STATIC_DIR.rglob("*"):
        if path.suffix in (".html", ".js", ".css") and "vendor" not in path.parts:
            text = path.read_text()
            assert "http://" not in text and "https://" not in text, path
            assert not re.search(r"\.(innerHTML|outerHTML)\s*=|insertAdjacentHTML|document\.write",
                                 text), path
            assert "style=" not in text or path.suffix != ".html", path  # CSP: no inline style
    html = (STATIC_DIR / "index.html").read_text()
    assert "<script>" not in html  # every script is a file of ours


def test_every_response_carries_the_content_security_policy(client):
    for path in ("/", "/playground", "/static/style.css", "/api/runs", "/api/runs/99",
                 "/static/nope.js"):
        response = client.get(path)
        assert response.headers["content-security-policy"].startswith("default-src 'self'")
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"


def test_static_files_are_the_apps_own_and_traversal_is_404(client):
    assert client.get("/static/vendor/uPlot.iife.min.js").status_code == 200
    assert client.get("/static/dashboard.js").headers["content-type"].startswith(
        "text/javascript")
    for path in ("/static/../app.py", "/static/%2e%2e/app.py", "/static/vendor/../../app.py",
                 "/static/..%2fapp.py", "/static//etc/passwd", "/static/%2fetc%2fpasswd",
                 "/static/app.py", "/static/__init__.py", "/static/", "/static/vendor"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert "detail" in response.json(), path


# ---------------------------------------------------------------------------- security
def test_host_header_must_name_this_server(client):
    for host in (f"127.0.0.1:{PORT}", f"localhost:{PORT}", f"[::1]:{PORT}"):
        assert client.get("/api/runs", headers={"host": host}).status_code == 200
    for host in ("evil.example:8765", f"127.0.0.1.evil.example:{PORT}", "127.0.0.1:9999", ""):
        response = client.get("/api/runs", headers={"host": host})
        assert response.status_code == 400, host
        assert "Host header" in response.json()["detail"]


def test_extra_hosts_are_accepted_when_allowed(db):
    app = create_app(db, port=PORT, extra_hosts=["lab-box"])
    with TestClient(app, base_url=f"http://lab-box:{PORT}") as client:
        assert client.get("/api/runs").status_code == 200


def test_request_bodies_are_bounded(client):
    big = json.dumps({"surface": "bowl", "optimizers": ["sgd"], "pad": "x" * 70_000})
    response = client.post("/api/race", content=big,
                           headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert "too large" in response.json()["detail"]

    def chunks():  # no content-length: counted as it arrives
        for _ in range(20):
            yield b"x" * 10_000

    response = client.post("/api/race", content=chunks())
    assert response.status_code == 413


@pytest.mark.parametrize("body, message", [
    ({"surface": "bowl", "optimizers": ["sgd"], "steps": 10**9}, "steps must be an integer"),
    ({"surface": "moon", "optimizers": ["sgd"]}, "surface must be one of"),
    ({"surface": "bowl", "optimizers": ["adma"]}, "unknown optimizer 'adma'"),
    ({"surface": "bowl", "optimizers": []}, "optimizers must be a list"),
    ({"surface": "bowl", "optimizers": ["sgd", "sgd"]}, "listed twice"),
    ({"surface": "bowl", "optimizers": ["sgd"], "start": [1.0]}, "start must be a list of 2"),
    ({"surface": "bowl", "optimizers": ["sgd"], "start": [1e300, 0]}, "within"),
    ({"surface": "bowl", "optimizers": [{"name": "adam", "options": {"betas": [0.9, 1.2]}}]},
     "Invalid beta parameter at index 1: 1.2"),
    ({"surface": "bowl", "optimizers": [{"name": "adam", "options": {"betas": 0.9}}]},
     "adam.betas must be a list of 2 numbers"),
    ({"surface": "bowl", "optimizers": [{"name": "adam", "options": {"amsgrad": 1}}]},
     "adam.amsgrad must be true or false"),
    ({"surface": "bowl", "optimizers": [{"name": "sgd", "options": {"lr": -1}}]},
     "sgd.lr must be positive"),
    ({"surface": "bowl", "optimizers": [{"name": "sgd", "options": {"foo": 1}}]},
     "sgd has no option 'foo'"),
    ({"surface": "bowl", "optimizers": [{"name": "random-search",
                                         "options": {"num_directions": 10**6}}]},
     "num_directions must be an integer from 0 to 100"),
    ({"surface": "bowl", "optimizers": ["sgd"], "seed": -1}, "seed must be an integer"),
    ({"surface": "bowl", "optimizers": ["sgd"], "colour": "red"}, "unknown field"),
    ([1, 2], "must be a JSON object"),
])
def test_bad_race_requests_get_400_with_a_message(client, body, message):
    response = client.post("/api/race", json=body)
    assert response.status_code == 400, response.text
    assert message in response.json()["detail"]


def test_non_json_and_non_finite_numbers_get_400(client):
    response = client.post("/api/race", content=b"{not json",
                           headers={"content-type": "application/json"})
    assert response.status_code == 400 and "must be JSON" in response.json()["detail"]
    response = client.post("/api/race", content=b'{"surface": "bowl", "optimizers": ["sgd"], '
                                                 b'"start": [NaN, 1]}')
    assert response.status_code == 400 and "finite" in response.json()["detail"]


def test_bad_query_parameters_get_400_not_422(client):
    response = client.get("/api/runs/abc")
    assert response.status_code == 400
    assert "run_id" in response.json()["detail"]
    response = client.get("/api/runs/1/metrics?points=0")
    assert response.status_code == 400 and "points must be" in response.json()["detail"]
    response = client.get("/api/surfaces/bowl/grid?n=100000")
    assert response.status_code == 400


# ---------------------------------------------------------------------------- the playground
def test_surfaces_and_optimizers_come_from_the_lab(client):
    surfaces = client.get("/api/surfaces").json()
    assert [s["name"] for s in surfaces] == list(SURFACES) and len(surfaces) == 10
    rosenbrock = next(s for s in surfaces if s["name"] == "rosenbrock")
    assert rosenbrock["minima"][0]["point"] == [1.0, 1.0] and rosenbrock["dim"] == 2
    assert rosenbrock["default_lr"]["sgd"] == 1e-3
    optimizers = client.get("/api/optimizers").json()
    assert [o["name"] for o in optimizers] == list(OPTIMIZERS)
    adam = next(o for o in optimizers if o["name"] == "adam")
    assert adam["options"]["betas"] == [0.9, 0.999] and adam["options"]["amsgrad"] is False
    grid = client.get("/api/surfaces/himmelblau/grid?n=50").json()
    assert len(grid["z"]) == 50 and len(grid["z"][0]) == 50
    assert grid["z"][0][0] == pytest.approx((grid["x"][0] ** 2 + grid["y"][0] - 11) ** 2
                                            + (grid["x"][0] + grid["y"][0] ** 2 - 7) ** 2)
    assert client.get("/api/surfaces/rough-bowl/grid?n=40").json()["dim"] == 1
    assert client.get("/api/surfaces/moon/grid").status_code == 404


RACES = [
    {"surface": "himmelblau", "steps": 30, "optimizers": list(OPTIMIZERS)},
    {"surface": "bowl", "steps": 25, "start": [2.0, -1.5], "optimizers": [
        {"name": "adafactor", "options": {"eps": [None, 0.002]}},
        {"name": "lbfgs", "options": {"max_eval": 12, "line_search_fn": "strong_wolfe"}},
        {"name": "muon", "options": {"adjust_lr_fn": "match_rms_adamw", "ns_steps": 3}},
        {"name": "rprop", "options": {"etas": [0.4, 1.3]}}]},
    {"surface": "rosenbrock", "optimizers": ["sgd", "momentum", "adam"], "steps": 200},
    {"surface": "beale", "start": [1.25, -0.5], "steps": 150, "optimizers": [
        {"name": "adam", "options": {"lr": 0.03, "betas": [0.8, 0.99], "amsgrad": True}},
        {"name": "nesterov", "options": {"momentum": 0.75, "weight_decay": 0.01}},
        {"name": "rmsprop", "options": {"centered": True, "alpha": 0.9}}]},
    {"surface": "rastrigin", "start": [-2.2, 3.1], "steps": 120, "seed": 7, "optimizers": [
        {"name": "random-search", "options": {"lr": 0.3, "num_directions": 3}},
        {"name": "adagrad", "options": {"initial_accumulator_value": 0.1}},
        {"name": "sgd", "options": {"momentum_form": "lecture", "momentum": 0.5}}]},
    {"surface": "rough-bowl", "start": [-2.75], "steps": 80,
     "optimizers": ["adadelta", "adam-nobias", "nadam"]},
]


@pytest.mark.parametrize("body", RACES, ids=[f"{r['surface']}-{len(r['optimizers'])}"
                                              for r in RACES])
def test_race_equals_steepest_race_with_the_command_shown(client, body, tmp_path):
    answer = client.post("/api/race", json=body).json()
    command = shlex.split(answer["command"])
    assert command[:2] == ["steepest", "race"]
    out = tmp_path / "race.json"
    assert main([*command[1:], "--json", str(out)]) == 0
    cli = json.loads(out.read_text())
    assert [p["name"] for p in cli["paths"]] == [p["name"] for p in answer["paths"]]
    for mine, theirs in zip(answer["paths"], cli["paths"], strict=True):
        assert close(mine["points"], theirs["points"]), mine["name"]
        assert close(mine["losses"], theirs["losses"]), mine["name"]
        assert mine["hyperparameters"] == theirs["hyperparameters"]
    # and the numbers are the lab's own, computed by the optimizer classes
    request = playground.parse_race(body)
    paths = race(request["surface"], request["names"], request["steps"],
                 start=request["start"], lrs=request["lrs"], options=request["options"],
                 seed=request["seed"])
    for mine, path in zip(answer["paths"], paths, strict=True):
        assert close(mine["points"], path.points.tolist(), 0.0)


def test_race_shows_what_each_rule_keeps_inside(client):
    answer = client.post("/api/race", json={
        "surface": "ravine", "steps": 30, "optimizers": ["momentum", "adagrad", "adam"]}).json()
    momentum, adagrad, adam = answer["paths"]
    assert set(momentum["states"]) == {"momentum_buffer"}
    assert momentum["state_labels"]["momentum_buffer"] == "velocity v"
    assert set(adam["states"]) == {"exp_avg", "exp_avg_sq"}
    # Adagrad's effective step is lr / (sqrt(sum g²) + eps) per coordinate, from its own state
    lr = adagrad["hyperparameters"]["lr"]
    sums = np.array(adagrad["states"]["sum"][1:], dtype=float)
    sizes = np.array(adagrad["step_sizes"], dtype=float)
    np.testing.assert_allclose(sizes, lr / (np.sqrt(sums) + 1e-10), rtol=1e-9)
    # momentum's velocity is the PyTorch buffer: v1 = g0, v2 = 0.9 v1 + g1
    grads = np.array(momentum["grads"])
    velocity = np.array(momentum["states"]["momentum_buffer"], dtype=float)
    assert np.isnan(velocity[0]).all()
    np.testing.assert_allclose(velocity[1], grads[0])
    np.testing.assert_allclose(velocity[2], 0.9 * velocity[1] + grads[1])


def test_race_command_is_minimal_and_quotes_nothing_it_need_not():
    request = playground.parse_race({"surface": "bowl", "optimizers": [
        {"name": "sgd", "options": {"lr": 0.1}}, "adam"]})
    assert playground.race_command(request) == (
        "steepest race --surface bowl --optimizers sgd,adam")
    request = playground.parse_race({"surface": "bowl", "start": [-1.5, 2], "optimizers": [
        {"name": "adam", "options": {"lr": 0.3, "betas": [0.5, 0.9]}}]})
    assert playground.race_command(request) == (
        "steepest race --surface bowl --optimizers adam --start=-1.5,2.0 --lr adam=0.3 "
        "--option adam.betas=0.5,0.9")


# ---------------------------------------------------------------------------- the runs
def test_run_list_and_run_details(client, db):
    listed = client.get("/api/runs").json()
    assert listed["exists"] and listed["db"] == str(db)
    assert [r["id"] for r in listed["runs"]] == [1, 2, 3, 4]
    assert listed["runs"][3]["name"] == HOSTILE and listed["runs"][0]["status"] == "finished"
    assert listed["runs"][1]["config"] == {"optimizer": "adam", "lr": 0.003, "seed": 0,
                                           "total_steps": 300}
    run = client.get("/api/runs/2").json()
    assert run["metrics"] == {"step": ["loss", "lr"], "epoch": ["accuracy", "loss"]}
    assert run["command"] == "steepest train --lr 0.003" and run["command_source"] == "recorded"
    assert run["results"] == {"test_accuracy": 0.51}
    missing = client.get("/api/runs/99")
    assert missing.status_code == 404
    assert missing.json() == {"detail": f"no run with id 99 in {db}"}


def test_a_train_run_is_reproduced_by_a_command_built_from_its_config(tmp_path):
    from steepest.cli import build_parser
    from steepest.cli.train import DEFAULTS, command_for, resolve_options

    config = {k: v for k, v in DEFAULTS.items() if k not in ("db", "progress")}
    config.update(lr=0.0031, optimizer="sgd", batch_norm=True, epochs=3, steps=None,
                  augment="noise", name="mine", checkpoint_dir="somewhere", seed=4)
    command = command_for(config)
    assert command == ("steepest train --batch-norm --optimizer sgd --lr 0.0031 --epochs 3 "
                       "--augment noise --seed 4")
    args = build_parser().parse_args(shlex.split(command)[1:])
    again = resolve_options(args)
    for key in ("lr", "optimizer", "batch_norm", "epochs", "steps", "augment", "seed"):
        assert again[key] == config[key], key
    assert command_for({"optimizer": "Adam", "total_steps": 10}) is None  # fit from Python


def test_metrics_are_downsampled_keeping_each_bins_min_and_max(tmp_path):
    store = RunStore(tmp_path / "big.db")
    run = store.start_run({})
    values = loss_curve(20_000, seed=3)
    for step, value in enumerate(values):
        run.log_step(step, loss=float(value))
    run.finish()
    store.close()
    with TestClient(create_app(tmp_path / "big.db", port=PORT), base_url=BASE) as client:
        answer = client.get("/api/runs/1/metrics?names=loss&points=100").json()
        loss = answer["metrics"]["loss"]
        assert len(loss["x"]) == 100 and sum(loss["rows"]) == 20_000
        for i, start in enumerate(loss["x"]):
            rows = values[int(start):int(start) + loss["rows"][i]]
            assert loss["min"][i] == rows.min() and loss["max"][i] == rows.max()
            assert loss["mean"][i] == pytest.approx(rows.mean(), rel=1e-12)
        assert max(loss["max"]) == 5.0  # the spike at step 7 survives
        # a zoom into 50 steps is shown exactly
        zoom = client.get("/api/runs/1/metrics?names=loss&points=100&start=100&end=149")
        exact = zoom.json()["metrics"]["loss"]
        assert exact["x"] == list(range(100, 150)) and exact["rows"] == [1] * 50
        assert exact["mean"] == values[100:150].tolist()


def test_shared_bins_line_runs_up_and_nan_survives_as_null():
    keys = np.array([0, 1, 2, 5, 6, 9])
    values = np.array([1.0, np.nan, 3.0, 4.0, 6.0, 7.0])
    edges = bin_edges(0, 9, 4, integer=True)
    assert edges.tolist() == [0, 3, 6, 9, 12]
    means, lows, highs, rows = bucket(keys, values, edges)
    assert rows.tolist() == [3, 1, 1, 1]
    assert means.tolist() == [2.0, 4.0, 6.0, 7.0] and lows[0] == 1.0 and highs[0] == 3.0
    means, lows, highs, rows = bucket(np.array([0.0, 0.5]), np.array([np.nan, np.nan]),
                                      bin_edges(0.0, 1.0, 2, integer=False))
    assert np.isnan(means).all() and rows.tolist() == [1, 1]


def test_aligned_metrics_of_several_runs(client):
    answer = client.get("/api/metrics?runs=1,2,3&name=loss&points=50").json()
    assert answer["x"][0] == 1 and len(answer["x"]) == 50
    assert set(answer["runs"]) == {"1", "2", "3"}
    for run_id in (1, 2, 3):
        values = loss_curve(300, seed=run_id - 1)
        data = answer["runs"][str(run_id)]
        assert data["max"][1] == values[6:12].max() == 5.0  # step 8's spike, in bin [7, 13)
        assert sum(data["rows"]) == 300
    relative = client.get("/api/metrics?runs=1&name=loss&axis=relative&points=10").json()
    assert relative["x"][0] >= 0 and len(relative["x"]) == 10
    assert client.get("/api/metrics?runs=1,x&name=loss").status_code == 400
    assert client.get("/api/metrics?runs=1&name=loss&axis=hours").status_code == 400
    assert client.get("/api/metrics?runs=77&name=loss").status_code == 404


def test_epoch_metrics_and_the_wall_time_axis(client, db):
    epochs = client.get("/api/runs/2/metrics?scope=epoch").json()
    assert epochs["scope"] == "epoch" and set(epochs["metrics"]) == {"accuracy", "loss"}
    accuracy = epochs["metrics"]["accuracy"]
    assert accuracy["x"] == [1, 2, 3] and accuracy["rows"] == [1, 1, 1]
    assert accuracy["mean"] == pytest.approx([0.3, 0.6, 0.9], rel=1e-15)
    store = RunStore(db, readonly=True)
    steps, values, times = store.metric_series(2, "step", "loss")
    started = store.run(2).started_at
    store.close()
    # on the wall-time axis the bins are seconds: all 300 rows, each in the bin of its time
    answer = client.get("/api/metrics?runs=2&name=loss&axis=time&points=7").json()
    x, width = np.array(answer["x"]), answer["width"]
    assert x[0] == times[0] and x[-1] + width >= times[-1] and len(x) == 7
    rows = answer["runs"]["2"]["rows"]
    assert sum(rows) == 300
    bounds = np.cumsum([0, *rows])
    for i in range(7):
        inside = times[bounds[i]:bounds[i + 1]]
        assert np.all(inside >= x[i]) and np.all(inside <= x[i] + width * (1 + 1e-9))
    low, high = float(times[50]), float(times[80])
    one = client.get(f"/api/runs/2/metrics?names=loss&axis=time&start={low}&end={high}"
                     f"&points=5").json()["metrics"]["loss"]
    assert sum(one["rows"]) == 31 and one["step"][0] == steps[50]
    relative = client.get(f"/api/export.csv?runs=2&metric=loss&axis=relative"
                          f"&start={low - started}&end={high - started}").text
    shown = list(csv.reader(io.StringIO(relative)))[1:]
    assert [int(row[2]) for row in shown] == steps[50:81].tolist()


def test_csv_is_the_raw_rows_of_the_runs_and_range_shown(client, db):
    text = client.get("/api/export.csv?runs=2,4&metric=loss&start=10&end=19").text
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["run", "name", "step", "wall_time", "relative_time", "loss"]
    assert [r[0] for r in rows[1:]] == ["2"] * 10 + ["4"] * 10
    assert rows[11][1] == HOSTILE
    store = RunStore(db, readonly=True)
    steps, values, times = store.metric_series(2, "step", "loss")
    started = store.run(2).started_at
    for row, step, value, when in zip(rows[1:11], steps[9:19], values[9:19], times[9:19],
                                      strict=True):
        assert int(row[2]) == step and float(row[5]) == value and float(row[3]) == when
        assert float(row[4]) == pytest.approx(when - started)
    store.close()
    response = client.get("/api/export.csv?runs=1&metric=loss")
    assert response.headers["content-disposition"] == 'attachment; filename="steepest-loss.csv"'
    assert len(response.text.splitlines()) == 301


def test_serving_never_writes_to_the_store(db, tmp_path):
    before = db.read_bytes()
    files = sorted(p.name for p in db.parent.iterdir())
    with TestClient(create_app(db, port=PORT), base_url=BASE) as client:
        client.get("/api/runs")
        client.get("/api/metrics?runs=1,2&name=loss")
        client.get("/api/export.csv?runs=1&metric=loss")
    assert db.read_bytes() == before
    # SQLite's own companions of a WAL database may appear, but nothing is written to them
    extra = sorted(set(p.name for p in db.parent.iterdir()) - set(files))
    assert extra in ([], ["runs.db-shm", "runs.db-wal"])
    assert not extra or (db.parent / "runs.db-wal").stat().st_size == 0


def test_a_missing_store_is_an_empty_list_until_it_appears(tmp_path):
    db = tmp_path / "later.db"
    with TestClient(create_app(db, port=PORT), base_url=BASE) as client:
        assert client.get("/api/runs").json() == {"db": str(db), "exists": False, "runs": []}
        assert client.get("/api/runs/1").status_code == 404
        make_store(db, runs=1).close()
        assert [r["id"] for r in client.get("/api/runs").json()["runs"]] == [1]
    assert not (tmp_path / "nowhere").exists()


# ---------------------------------------------------------------------------- live
def _events(url: str, seconds: float) -> list[tuple[str, dict]]:
    """The server-sent events a real server sends within `seconds`."""
    import httpx2 as httpx

    events, name = [], None
    deadline = time.monotonic() + seconds
    with httpx.stream("GET", url, timeout=httpx.Timeout(5.0, read=seconds)) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        try:
            for line in response.iter_lines():
                if line.startswith("event: "):
                    name = line[7:]
                elif line.startswith("data: "):
                    events.append((name, json.loads(line[6:])))
                if time.monotonic() > deadline:
                    break
        except httpx.ReadTimeout:  # nothing more was sent: the stream stays open
            pass
    return events


def test_server_sent_events_bring_new_steps_and_status(tmp_path):
    import threading

    db = tmp_path / "live.db"
    make_store(db, runs=1).close()
    writer = RunStore(db)
    run = writer.start_run({"lr": 0.1}, name="live")

    def write() -> None:
        for step in range(1, 6):
            time.sleep(0.3)
            run.log_step(step, loss=1.0 / step)
            run.flush()
        run.finish()

    with LiveServer(db) as server:
        thread = threading.Thread(target=write)
        thread.start()
        events = _events(f"{server.url}/api/runs/{run.id}/events?after=0", 3.5)
        thread.join()
        store_events = _events(f"{server.url}/api/events", 1.0)
    writer.close()
    steps = [s for name, data in events if name == "metrics" for s in data["loss"]["step"]]
    assert steps == [1, 2, 3, 4, 5]
    assert [d["status"] for n, d in events if n == "status"] == ["running", "finished"]
    assert store_events[0][0] == "runs"
    assert [r["name"] for r in store_events[0][1]["runs"]] == [HOSTILE, "live"]


def test_a_running_run_read_from_many_threads_gets_each_row_once(tmp_path):
    # The page's chart and the store's event stream read the same running run at once: the
    # new rows must be added to the cached series once, not once per reader.
    import threading

    from steepest.serve.dashboard import Dashboard

    store = RunStore(tmp_path / "runs.db")
    run = store.start_run({})
    dashboard = Dashboard(tmp_path / "runs.db")
    record = dashboard.store().run(run.id)
    for step in range(1, 301):
        run.log_step(step, loss=float(step))
        if step % 30 == 0:
            run.flush()
            readers = [threading.Thread(target=dashboard.series, args=(record, "step", "loss"))
                       for _ in range(4)]
            for reader in readers:
                reader.start()
            for reader in readers:
                reader.join()
    steps = dashboard.series(record, "step", "loss").steps
    assert steps.tolist() == list(range(1, 301))
    dashboard.close()
    store.close()


def test_slow_runs_are_flushed_within_half_a_second(tmp_path):
    from steepest.store import FLUSH_SECONDS

    store = RunStore(tmp_path / "slow.db")
    reader = RunStore(tmp_path / "slow.db", readonly=True)
    run = store.start_run({})
    run.log_step(1, loss=1.0)
    assert len(reader.metric_series(run.id, "step", "loss")[0]) == 0  # buffered
    time.sleep(FLUSH_SECONDS + 0.05)
    run.log_step(2, loss=0.5)   # the oldest row has waited long enough: both are written
    steps, values, times = reader.metric_series(run.id, "step", "loss")
    assert steps.tolist() == [1, 2] and values.tolist() == [1.0, 0.5]
    assert times[1] - times[0] >= FLUSH_SECONDS
    store.close()
    reader.close()


# ---------------------------------------------------------------------------- the network
def test_live_network_trains_through_the_trainer_and_reports_what_the_page_draws(client):
    from steepest.serve import network

    described = client.post("/api/network", json={
        "dataset": "xor", "steps": 150, "depth": 2, "width": 6, "activation": "relu",
        "init": "he", "optimizer": "momentum", "options": {"lr": 0.05},
        "regulariser": "l2", "settings": {"weight_decay": 0.002}, "seed": 3}).json()
    assert described["classes"] == 2 and len(described["x"]) == 300
    assert described["layers"] == ["layer 1 (2→6)", "layer 2 (6→6)", "layer 3 (6→2)"]
    session = client.app.app.state.sessions.get(described["id"])
    before = list(session.snapshot()["boundary"])
    assert client.post(f"/api/network/{described['id']}/play").json()["status"] == "running"
    deadline = time.monotonic() + 60
    while session.status == "running" and time.monotonic() < deadline:
        time.sleep(0.05)
    state = session.snapshot()
    assert state["status"] == "finished" and state["step"] == 150
    assert len(state["losses"]) == 150 and len(state["grad_norms"]) == 150
    assert all(len(row) == 3 and all(v > 0 for v in row) for row in state["grad_norms"])
    assert len(state["boundary"]) == network.GRID ** 2 and state["boundary"] != before
    assert state["epochs"][-1]["test_accuracy"] is not None
    assert session.optimizer.param_groups[0]["weight_decay"] == 0.002
    assert client.post(f"/api/network/{described['id']}/jump").status_code == 404
    assert client.get("/api/network/n999/events").status_code == 404


@pytest.mark.parametrize("body, message", [
    ({"dataset": "moons"}, "dataset must be one of"),
    ({"depth": 50}, "depth must be an integer from 1 to 6"),
    ({"steps": 10**9}, "steps must be an integer from 1 to 20000"),
    ({"optimizer": "random-search"}, "optimizer must be one of"),
    ({"options": {"lr": -0.1}}, "lr must be positive"),
    ({"options": {"betas": [0.9, 2.0]}}, "Invalid beta parameter"),
    ({"init": "zeros"}, "unknown init"),
    ({"regulariser": "dropout", "settings": {"dropout": 1.5}}, "dropout must be a probability"),
    ({"regulariser": "dropout", "settings": {"weight_decay": 0.1}}, "settings of dropout"),
    ({"regulariser": "l2", "optimizer": "adadelta", "settings": {"weight_decay": -1}},
     "settings must be from 0 to 100"),
    ({"batch_size": 0}, "batch_size must be an integer"),
])
def test_bad_network_requests_get_400(client, body, message):
    response = client.post("/api/network", json=body)
    assert response.status_code == 400, response.text
    assert message in response.json()["detail"]


def test_every_optimizer_activation_and_initialisation_trains_live():
    # the network offers every choice the library has; each one trains a few steps
    from steepest import models
    from steepest.lab.compare import REGULARISERS
    from steepest.lab.gradients import INITS
    from steepest.serve.network import NetworkSession, choices, parse_config

    offered = choices()
    assert offered["optimizers"] == [n for n in OPTIMIZERS if n != "random-search"]
    assert offered["activations"] == list(models.ACTIVATIONS)
    assert offered["inits"] == list(INITS) and list(offered["regularisers"]) == list(REGULARISERS)
    bodies = [{"optimizer": name} for name in offered["optimizers"]]
    bodies += [{"activation": name} for name in offered["activations"]]
    bodies += [{"init": name.replace("<std>", "0.05")} for name in offered["inits"]]
    failed = []
    for body in bodies:
        session = NetworkSession(parse_config({"steps": 3, "points": 40, "batch_size": 20,
                                               **body}), "t")
        before = [p.data.copy() for p in session.model.parameters()]
        session.play()
        session._thread.join(60)
        state = session.snapshot()
        moved = any(not np.array_equal(a, p.data)
                    for a, p in zip(before, session.model.parameters(), strict=True))
        if state["status"] != "finished" or len(state["losses"]) != 3 or not moved \
                or not all(np.isfinite(v) for row in state["grad_norms"] for v in row):
            failed.append((body, state["status"], state["message"]))
    assert not failed


def test_the_gradient_norms_of_the_layers_show_vanishing_gradients():
    # what the page draws per layer: sigmoid with too small weights starves the first layers,
    # ReLU with He's initialisation keeps every layer's gradient of one size
    from steepest.serve.network import NetworkSession, parse_config

    def first_step(activation: str, init: str) -> np.ndarray:
        session = NetworkSession(parse_config({"steps": 2, "points": 40, "depth": 6,
                                               "width": 16, "activation": activation,
                                               "init": init}), "t")
        session.play()
        session._thread.join(60)
        assert session.status == "finished", session.message
        return np.array(session.snapshot()["grad_norms"][0])

    vanishing = first_step("sigmoid", "too-small")
    assert len(vanishing) == 7 and np.all(np.diff(np.log10(vanishing)) > 1)  # a decade a layer
    healthy = first_step("relu", "he")
    assert healthy.max() / healthy.min() < 10


def test_network_regularisers_and_every_toy_dataset_build():
    from steepest.data import TOY_CLASSES
    from steepest.lab.compare import REGULARISERS
    from steepest.serve.network import NetworkSession, parse_config

    for name in TOY_CLASSES:
        for regulariser in REGULARISERS:
            config = parse_config({"dataset": name, "regulariser": regulariser, "steps": 2,
                                   "points": 40})
            session = NetworkSession(config, "t")
            session.play()
            deadline = time.monotonic() + 30
            while session.status == "running" and time.monotonic() < deadline:
                time.sleep(0.01)
            assert session.status == "finished", (name, regulariser, session.message)


# ---------------------------------------------------------------------------- the command
def test_server_sockets_turn_nagle_off():
    # Without TCP_NODELAY every answer on a kept-alive connection waits 40 ms for an ACK.
    from steepest.serve.server import bind

    sock = bind("127.0.0.1", 0)
    try:
        assert sock.proto == socket.IPPROTO_TCP  # what asyncio needs to set it per connection
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
    finally:
        sock.close()


def _listening_addresses(port: int) -> set[str]:
    """The local addresses of the sockets listening on `port` (Linux's /proc/net/tcp*)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as lines:
            for line in list(lines)[1:]:
                local, state = line.split()[1], line.split()[3]
                address, hexport = local.split(":")
                if state == "0A" and int(hexport, 16) == port:  # 0A: LISTEN
                    found.add(socket.inet_ntop(
                        socket.AF_INET if len(address) == 8 else socket.AF_INET6,
                        bytes.fromhex(address)[::-1] if len(address) == 8 else
                        b"".join(bytes.fromhex(address[i:i + 8])[::-1]
                                 for i in range(0, 32, 8))))
    return found


def test_serve_listens_on_127_0_0_1_and_bad_input_gets_one_line(tmp_path, capsys):
    import sqlite3

    foreign = tmp_path / "other.db"
    with sqlite3.connect(foreign) as conn:
        conn.execute("CREATE TABLE notes (text TEXT)")
    before = foreign.read_bytes()
    # each of these stops before the server starts, so it runs in this process
    assert main(["serve", "--db", str(foreign), "--port", "0"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "is not a steepest run store" in err
    assert foreign.read_bytes() == before
    assert main(["serve", "--port", "http"]) == 2
    assert capsys.readouterr().err == "steepest: --port must be an integer, got 'http'\n"
    with LiveServer(tmp_path / "runs.db") as server:
        # by default only this machine can connect, and nothing warns
        assert server.url == f"http://127.0.0.1:{server.port}"
        assert _listening_addresses(server.port) == {"127.0.0.1"}
        assert main(["serve", "--db", str(tmp_path / "runs.db"), "--port",
                     str(server.port)]) == 2
    assert capsys.readouterr().err == (
        f"steepest: port {server.port} on 127.0.0.1 is in use (another steepest serve? give "
        f"--port, e.g. --port {server.port + 1})\n")
    assert "warning" not in server.stderr
    # an address not this machine's: one line, the error (no warning before it)
    assert main(["serve", "--host", "192.0.2.1", "--port", "0"]) == 2
    assert capsys.readouterr().err == (
        "steepest: cannot listen on 192.0.2.1: not an address of this machine\n")


def test_serve_on_another_host_warns(tmp_path):
    with LiveServer(tmp_path / "runs.db", "--host", "0.0.0.0") as server:
        import httpx2 as httpx

        assert httpx.get(f"{server.url}/api/health").json()["app"] == "steepest"
        assert _listening_addresses(server.port) == {"0.0.0.0"}
    assert "warning: listening on 0.0.0.0" in server.stderr


def test_train_live_starts_a_server_then_reuses_it(tmp_path):
    import httpx2 as httpx

    db = tmp_path / "runs.db"
    with socket.socket() as probe:  # a port free now (the server binds it again)
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = dict(os.environ, STEEPEST_SERVE_PORT=str(port))
    args = [sys.executable, "-m", "steepest", "train", "--data", "digits", "--model", "logreg",
            "--steps", "20", "--no-checkpoint", "--no-progress", "--db", str(db), "--live"]
    first = subprocess.run(args, capture_output=True, text=True, timeout=120, env=env)
    line = next((ln for ln in first.stdout.splitlines() if ln.startswith("live: ")), "")
    pid = int(line.split("pid ")[1].split(";")[0]) if "pid " in line else None
    try:
        assert first.returncode == 0, first.stderr
        assert f"http://127.0.0.1:{port}/runs/1 " in line and "started" in line
        health = httpx.get(f"http://127.0.0.1:{port}/api/health").json()
        assert health["app"] == "steepest" and health["db"] == str(db)
        assert httpx.get(f"http://127.0.0.1:{port}/runs/1").status_code == 200
        second = subprocess.run(args, capture_output=True, text=True, timeout=120, env=env)
        assert second.returncode == 0, second.stderr
        line = next(ln for ln in second.stdout.splitlines() if ln.startswith("live: "))
        assert f"http://127.0.0.1:{port}/runs/2 " in line and "already running" in line
        runs = httpx.get(f"http://127.0.0.1:{port}/api/runs").json()["runs"]
        assert [r["status"] for r in runs] == ["finished", "finished"]
    finally:
        if pid is not None:  # the server --live started outlives the training: stop it
            os.kill(pid, 15)
