"""The study report: Markdown tables, and a self-contained HTML page with its figures embedded."""

from __future__ import annotations

import base64
import re

import numpy as np
import pytest

from steepest import __version__
from steepest.lab.report import Report, format_cell, markdown_table


def _figure():
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(2, 1.5))
    FigureCanvasAgg(figure)
    figure.add_subplot().plot([0, 1, 2], [1, 0, 1])
    return figure


def test_markdown_table_from_dicts():
    rows = [{"name": "sigmoid", "ratio": 2.8534e-06, "layers": 10},
            {"name": "relu", "ratio": 0.31781, "layers": 10, "note": "a|b"}]
    assert markdown_table(rows) == (
        "| name | ratio | layers | note |\n"
        "|---|---:|---:|---|\n"
        "| sigmoid | 2.853e-06 | 10 |  |\n"
        "| relu | 0.3178 | 10 | a\\|b |"
    )


def test_markdown_table_from_headers_and_rows():
    text = markdown_table([(1, 2.5), (None, float("nan"))], headers=["a", "b"])
    assert text.splitlines() == ["| a | b |", "|---:|---:|", "| 1 | 2.5 |", "|  | nan |"]
    with pytest.raises(ValueError, match="headers"):
        markdown_table([(1, 2)])
    with pytest.raises(ValueError, match="row 0 has 1 cells but there are 2 headers"):
        markdown_table([(1,)], headers=["a", "b"])


@pytest.mark.parametrize("value, text", [
    (0.123456, "0.1235"), (np.float32(1e-7), "1e-07"), (3, "3"), (np.int64(7), "7"),
    (True, "True"), (None, ""), (float("inf"), "inf"), ("x", "x"),
])
def test_format_cell(value, text):
    assert format_cell(value) == text


def test_report_is_self_contained_with_figures_tables_command_and_config(tmp_path):
    out = tmp_path / "study"
    report = Report("Gradient <flow>", out)
    report.command(["steepest", "diagnose", "gradients", "--out", "my dir"])
    report.config({"depth": 10, "lrs": np.array([0.1, 1.0]), "seed": np.int64(3)})
    report.text("Sigmoid gets **1e-6** of `relu`'s gradient. <script>alert(1)</script>\n\n"
                "- one\n- two")
    first = report.figure(_figure(), "first", caption="The first <figure>")
    second = report.figure(_figure(), "second.png")
    report.table([{"act": "sigmoid", "ratio": 1e-6}], caption="Ratios & more")
    path = report.write()

    assert path == out / "report.html"
    assert first == out / "first.png" and second == out / "second.png"
    page = path.read_text(encoding="utf-8")
    # One embedded PNG per figure, byte for byte the PNG file written next to the page.
    embedded = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    assert len(embedded) == 2
    for data, file in zip(embedded, (first, second), strict=True):
        png = base64.b64decode(data)
        assert png[:8] == b"\x89PNG\r\n\x1a\n"
        assert png == file.read_bytes()
    # Nothing loaded from outside: every src is a data: URI, no href, link or script tag.
    assert all(src.startswith("data:") for src in re.findall(r'src="([^"]*)"', page))
    assert "href" not in page and "<link" not in page and "<script" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<h1>Gradient &lt;flow&gt;</h1>" in page
    assert "<strong>1e-6</strong>" in page and "<code>relu</code>" in page
    assert "<ul><li>one</li><li>two</li></ul>" in page
    assert "<figcaption>The first &lt;figure&gt;</figcaption>" in page
    assert "<caption>Ratios &amp; more</caption>" in page
    assert '<td>sigmoid</td><td class="num">1e-06</td>' in page
    assert "steepest diagnose gradients --out &#x27;my dir&#x27;" in page
    assert "&quot;lrs&quot;: [\n    0.1,\n    1.0\n  ]" in page
    assert f"steepest {__version__}" in page
    assert re.search(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}", page)
    # Written atomically: no temporary files left behind.
    assert sorted(p.name for p in out.iterdir()) == ["first.png", "report.html", "second.png"]


def test_report_write_replaces_the_page(tmp_path):
    report = Report("R", tmp_path)
    report.text("first")
    report.write()
    report.text("second")
    page = report.write().read_text()
    assert "<p>first</p>" in page and "<p>second</p>" in page
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]


def test_report_rejects_bad_names_and_arguments(tmp_path):
    report = Report("R", tmp_path)
    with pytest.raises(ValueError, match="plain file stem"):
        report.figure(_figure(), "../escape")
    with pytest.raises(TypeError, match="matplotlib Figure"):
        report.figure("not a figure", "name")
    with pytest.raises(TypeError, match="dict"):
        report.config([1, 2])
    (tmp_path / "file").write_text("x")
    with pytest.raises(ValueError, match="not a folder"):
        Report("R", tmp_path / "file").write()


# What a reader sees, measured in a real browser (headless Chromium): a probe script appended to
# a copy of the page writes the layout into the DOM, which Chromium prints.
_PROBE = """<script>
const pre = document.querySelector("pre.command");
const details = document.querySelector("details");
const figures = [...document.querySelectorAll("figure")];
const cells = [...document.querySelectorAll("tbody tr:first-child td")];
document.body.dataset.probe = JSON.stringify({
  commandOverflows: pre.scrollWidth > pre.clientWidth + 1,
  commandLines: Math.round(pre.getBoundingClientRect().height /
                           parseFloat(getComputedStyle(pre).lineHeight)),
  configOpen: details.open,
  configBelowFigures: figures.every(f => f.compareDocumentPosition(details) &
                                         Node.DOCUMENT_POSITION_FOLLOWING),
  configHeight: details.getBoundingClientRect().height,
  align: cells.map(td => getComputedStyle(td).textAlign),
});
</script>"""


def _in_browser(page, tmp_path, width=700):
    """As tests/test_serve_browser.py: Chromium at $STEEPEST_CHROMIUM (/usr/bin/chromium);
    without it the test is skipped, or fails under STEEPEST_BROWSER_TESTS=required (.ci/run)."""
    import json
    import os
    import subprocess

    browser = os.environ.get("STEEPEST_CHROMIUM", "/usr/bin/chromium")
    if not os.access(browser, os.X_OK):
        if os.environ.get("STEEPEST_BROWSER_TESTS", "") == "required":
            pytest.fail(f"STEEPEST_BROWSER_TESTS=required, but no chromium at {browser}")
        pytest.skip(f"BROWSER TESTS DID NOT RUN: no chromium at {browser}")
    probe = tmp_path / "probe.html"
    probe.write_text(page.replace("</body>", _PROBE + "</body>"), encoding="utf-8")
    done = subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu",
                           f"--window-size={width},900", "--dump-dom", probe.as_uri()],
                          capture_output=True, text=True, timeout=120)
    found = re.search(r'data-probe="([^"]*)"', done.stdout)
    assert found, done.stderr[-2000:]
    return json.loads(found.group(1).replace("&quot;", '"'))


def test_report_in_a_browser_wraps_the_command_folds_the_config_and_aligns_columns(tmp_path):
    report = Report("Layout", tmp_path / "study")
    report.command(["steepest", "compare", "--optimizers",
                    "sgd,momentum,nesterov,adagrad,rmsprop,adadelta,adam", "--seeds", "3",
                    "--epochs", "100", "--lr-grid", "1e-4,3e-4,1e-3,3e-3,1e-2,3e-2,1e-1,3e-1",
                    "--out", "studies/a-long-folder-name/that-goes-on"])
    report.config({f"option_{k}": k for k in range(30)})
    report.figure(_figure(), "curves")
    report.table([{"optimizer": "momentum", "lr": 0.01, "verdict": "right", "acc": 0.9}])
    measured = _in_browser(report.html(), tmp_path)
    assert not measured["commandOverflows"] and measured["commandLines"] >= 2
    assert not measured["configOpen"] and measured["configBelowFigures"]
    assert measured["configHeight"] < 60                      # folded: one line, not 30
    assert measured["align"] == ["left", "right", "left", "right"]
