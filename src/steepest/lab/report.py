"""Study reports: PNG figures and one self-contained HTML page (figures embedded as base64, the
tables, the exact command and config, the steepest version and the date), plus Markdown tables.

    report = Report("Gradient flow", "studies/gradients")
    report.command(sys.argv)
    report.config({"depth": 10})
    report.text("Sigmoid's first layer gets **10⁻⁵** of the last layer's gradient.")
    report.figure(fig, "gradient_flow")          # writes gradient_flow.png, embeds it
    report.table(rows, caption="Gradient norms")  # rows: list of dicts
    path = report.write()                         # out_dir/report.html, written atomically

The page loads nothing from outside (no external CSS, script, font or image), so it can be
mailed or archived as one file. All text is HTML-escaped; `text` understands a little Markdown
(paragraphs, `code`, **bold**, *italic*, "- " lists) and nothing else.
"""

from __future__ import annotations

import base64
import datetime as _datetime
import html
import io
import json
import math
import os
import re
import shlex
import tempfile
from collections.abc import Mapping, Sequence
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["Report", "format_cell", "markdown_table", "normalise_table"]

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")

_CSS = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; max-width: 1100px;
       margin: 2em auto; padding: 0 1em; color: #222; line-height: 1.45; }
h1 { margin-bottom: 0.1em; } .meta { color: #666; font-size: 0.9em; margin-top: 0; }
pre, code { font-family: Menlo, Consolas, monospace; font-size: 0.9em; background: #f4f4f4; }
pre { padding: 0.6em 0.8em; overflow-x: auto; border-radius: 4px; }
pre.command { white-space: pre-wrap; overflow-wrap: anywhere; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; font-size: 0.92em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: left; }
th { background: #eee; } th.num, td.num { text-align: right; }
details { margin: 1.5em 0; } summary { cursor: pointer; color: #444; }
caption { caption-side: top; text-align: left; font-weight: bold; padding-bottom: 0.3em; }
figure { margin: 1em 0 2em; } figure img { max-width: 100%; height: auto; }
figcaption { color: #444; font-size: 0.92em; }
"""


def format_cell(value: Any) -> str:
    """One table cell as text: floats to 4 significant digits, None as an empty cell."""
    if value is None:
        return ""
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (float, np.floating)):
        number = float(value)
        if math.isnan(number):
            return "nan"
        if math.isinf(number):
            return "inf" if number > 0 else "-inf"
        return f"{number:.4g}"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    return str(value)


def normalise_table(rows: Sequence[Any], headers: Sequence[str] | None = None
                    ) -> tuple[list[str], list[list[str]]]:
    """(headers, rows of cell strings) from a list of dicts (headers: the keys in first-seen
    order, unless given) or from headers plus a list of sequences."""
    rows = list(rows)
    if rows and all(isinstance(row, Mapping) for row in rows):
        if headers is None:
            headers = []
            for row in rows:
                headers.extend(key for key in row if key not in headers)
        headers = [str(h) for h in headers]
        cells = [[format_cell(row.get(h)) for h in headers] for row in rows]
        return headers, cells
    if headers is None:
        raise ValueError("table: rows that are not dicts need headers=[...] naming the columns")
    headers = [str(h) for h in headers]
    cells = []
    for index, row in enumerate(rows):
        if isinstance(row, (str, bytes)) or not isinstance(row, Sequence):
            raise TypeError(f"table: row {index} must be a dict or a sequence, got {row!r}")
        if len(row) != len(headers):
            raise ValueError(
                f"table: row {index} has {len(row)} cells but there are {len(headers)} headers"
            )
        cells.append([format_cell(value) for value in row])
    return headers, cells


def markdown_table(rows: Sequence[Any], headers: Sequence[str] | None = None) -> str:
    """A GitHub-flavoured Markdown table (numbers right-aligned), e.g. for a study's stdout.

    rows: list of dicts, or list of sequences with `headers`.
    """
    headers, cells = normalise_table(rows, headers)

    def clean(text: str) -> str:
        return text.replace("|", "\\|").replace("\n", " ")

    numeric = _numeric_columns(cells, len(headers))
    lines = ["| " + " | ".join(clean(h) for h in headers) + " |",
             "|" + "|".join("---:" if num else "---" for num in numeric) + "|"]
    lines += ["| " + " | ".join(clean(c) for c in row) + " |" for row in cells]
    return "\n".join(lines)


def _numeric_columns(cells: list[list[str]], count: int | None = None) -> list[bool]:
    """Whether each column holds numbers only (empty cells and "-" aside)."""
    count = len(cells[0]) if count is None else count
    return [bool(cells) and all(_looks_numeric(row[i]) for row in cells
                                if row[i] not in ("", "-")) for i in range(count)]


def _looks_numeric(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _inline(text: str) -> str:
    """Escaped text with `code`, **bold** and *italic* (escape first, so no HTML gets through)."""
    parts = re.split(r"(`[^`]+`)", text)
    out = []
    for part in parts:
        if len(part) > 1 and part.startswith("`") and part.endswith("`"):
            out.append(f"<code>{html.escape(part[1:-1])}</code>")
            continue
        escaped = html.escape(part)
        escaped = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", escaped)
        escaped = re.sub(r"(?<![\w*])\*(?!\s)(.+?)(?<!\s)\*(?![\w*])", r"<em>\1</em>", escaped)
        out.append(escaped)
    return "".join(out)


def _markdown(text: str) -> str:
    blocks = []
    for block in re.split(r"\n\s*\n", text.strip()):
        lines = [line.strip() for line in block.splitlines() if line.strip()]
        if not lines:
            continue
        if all(line.startswith(("- ", "* ")) for line in lines):
            items = "".join(f"<li>{_inline(line[2:])}</li>" for line in lines)
            blocks.append(f"<ul>{items}</ul>")
        else:
            blocks.append(f"<p>{_inline(' '.join(lines))}</p>")
    return "\n".join(blocks)


def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, PathLike):
        return os.fspath(value)
    return value


def _atomic_write(path: Path, data: bytes) -> None:
    """Write `data` to `path` through a temporary file in the same folder and os.replace, so a
    reader never sees half a file."""
    handle, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes it private; a report is for reading
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


class Report:
    """A study's report: call `text`, `figure`, `table` in reading order, `command` and `config`
    once each, then `write()`. Figures are also written as PNG files next to report.html.

    title: the page's heading. out_dir: folder for report.html and the PNGs (created if needed).
    """

    def __init__(self, title: str, out_dir: str | PathLike, *, dpi: int = 110) -> None:
        self.title = str(title)
        self.out_dir = Path(out_dir)
        self.dpi = int(dpi)
        self._blocks: list[str] = []
        self._command: str | None = None
        self._config: dict[str, Any] | None = None
        self.figures: list[Path] = []
        self.created = _datetime.datetime.now().astimezone()

    def _ensure_dir(self) -> None:
        if self.out_dir.exists() and not self.out_dir.is_dir():
            raise ValueError(f"report: {str(self.out_dir)!r} exists and is not a folder")
        self.out_dir.mkdir(parents=True, exist_ok=True)

    def heading(self, text: str, level: int = 2) -> None:
        """A section heading (level 2 to 4)."""
        if level not in (2, 3, 4):
            raise ValueError(f"report.heading: level must be 2, 3 or 4, got {level}")
        self._blocks.append(f"<h{level}>{html.escape(str(text))}</h{level}>")

    def text(self, markdown: str) -> None:
        """A paragraph (or several, separated by blank lines) of lightly-marked-up text."""
        self._blocks.append(_markdown(str(markdown)))

    def figure(self, fig: Any, name: str, caption: str | None = None) -> Path:
        """Save the matplotlib Figure `fig` as out_dir/<name>.png (at the report's dpi) and embed
        the same PNG in the page. name: a file stem (letters, digits, '_', '-', '.').
        Returns the PNG's path."""
        name = str(name)
        if name.lower().endswith(".png"):
            name = name[:-4]
        if not _NAME.match(name):
            raise ValueError(
                f"report.figure: name {name!r} must be a plain file stem "
                f"(letters, digits, '_', '-', '.'; no folders)"
            )
        if not hasattr(fig, "savefig"):
            raise TypeError(
                f"report.figure: expected a matplotlib Figure, got {type(fig).__name__}"
            )
        self._ensure_dir()
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=self.dpi)
        png = buffer.getvalue()
        path = self.out_dir / f"{name}.png"
        _atomic_write(path, png)
        self.figures.append(path)
        encoded = base64.b64encode(png).decode("ascii")
        alt = html.escape(caption or name, quote=True)
        caption_html = f"<figcaption>{_inline(caption)}</figcaption>" if caption else ""
        self._blocks.append(
            f'<figure><img alt="{alt}" src="data:image/png;base64,{encoded}">'
            f"{caption_html}</figure>"
        )
        return path

    def table(self, rows: Sequence[Any], headers: Sequence[str] | None = None,
              caption: str | None = None) -> None:
        """An HTML table from a list of dicts, or from headers plus a list of sequences."""
        headers, cells = normalise_table(rows, headers)
        # Numbers right-aligned (their digits line up), words left-aligned.
        kinds = [' class="num"' if numeric else "" for numeric in _numeric_columns(cells)]
        parts = ["<table>"]
        if caption:
            parts.append(f"<caption>{html.escape(str(caption))}</caption>")
        parts.append("<thead><tr>" + "".join(f"<th{kind}>{html.escape(h)}</th>"
                                             for h, kind in zip(headers, kinds, strict=True))
                     + "</tr></thead><tbody>")
        for row in cells:
            parts.append("<tr>" + "".join(f"<td{kind}>{html.escape(c)}</td>"
                                          for c, kind in zip(row, kinds, strict=True)) + "</tr>")
        parts.append("</tbody></table>")
        self._blocks.append("".join(parts))

    def command(self, argv: Sequence[str] | str) -> None:
        """The exact command that made the study (shell-quoted), shown at the top, wrapped to
        the page's width."""
        self._command = argv if isinstance(argv, str) else shlex.join(str(a) for a in argv)

    def config(self, config: Mapping[str, Any]) -> None:
        """The study's configuration, shown as JSON at the end of the page, folded."""
        if not isinstance(config, Mapping):
            raise TypeError(f"report.config expects a dict, got {type(config).__name__}")
        self._config = _jsonable(dict(config))

    def html(self) -> str:
        """The page as a string."""
        from steepest import __version__

        date = self.created.strftime("%Y-%m-%d %H:%M %Z").strip()
        parts = [
            "<!DOCTYPE html>",
            '<html lang="en"><head><meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{html.escape(self.title)}</title>",
            f"<style>{_CSS}</style></head><body>",
            f"<h1>{html.escape(self.title)}</h1>",
            f'<p class="meta">steepest {html.escape(__version__)} · {html.escape(date)}</p>',
        ]
        if self._command is not None:
            parts.append(f'<p>Command:</p><pre class="command">{html.escape(self._command)}</pre>')
        parts.extend(self._blocks)
        if self._config is not None:  # the details, after what the study found
            text = json.dumps(self._config, indent=2, sort_keys=False, default=str)
            parts.append(f"<details><summary>Configuration</summary>"
                         f"<pre>{html.escape(text)}</pre></details>")
        parts.append("</body></html>\n")
        return "\n".join(parts)

    def write(self, name: str = "report.html") -> Path:
        """Write the page to out_dir/<name> atomically and return its path."""
        self._ensure_dir()
        path = self.out_dir / name
        _atomic_write(path, self.html().encode("utf-8"))
        return path
