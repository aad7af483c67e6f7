"""The one HTML shell of every report the lab writes (synthesis, sequences, related tables, drift, compliance
evidence): a self-contained page, its style, and tables whose figures go through `formatting.number`."""

from __future__ import annotations

import html
from typing import Any

from genesis_core.formatting import number

STYLE = """body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;color:#222}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:.3em .6em;text-align:left}
th{background:#f3f3f3}.note{background:#fff4e5;padding:.6em;border-left:4px solid #e69500}"""


def cell(value: Any, spec: str = ".4g") -> str:
    """A table cell's text, escaped."""
    return html.escape(number(value, spec))


def table(rows: list[dict], columns: list[str] | None = None, headers: list[str] | None = None,
          spec: str = ".4g") -> str:
    """Rows of dicts as an HTML table of `columns` (default: the first row's keys), headed by `headers`."""
    if columns is None:
        if not rows:
            return ""
        columns = list(rows[0])
    head = "".join(f"<th>{html.escape(c)}</th>" for c in (headers or columns))
    body = "".join("<tr>" + "".join(f"<td>{cell(r.get(c), spec)}</td>" for c in columns) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def page(title: str, body: str) -> str:
    """A whole report page: `title` (escaped) as its title and heading, then `body` (HTML)."""
    t = html.escape(title)
    return (f'<!doctype html><html><head><meta charset="utf-8"><title>{t}</title><style>{STYLE}</style></head>'
            f"<body>\n<h1>{t}</h1>\n{body}\n</body></html>")
