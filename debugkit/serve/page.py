"""The index of ``debugkit serve`` (``GET /``) and the same as data (``GET /runs.json``).

The page follows the report's rules: jinja2 with autoescaping (every run-derived string is passed as
text), a Content-Security-Policy that allows only its one inline style sheet (by hash), no script, no
other origin; links are ``runs/<run id>/<file>`` with the run id checked and percent-encoded.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import quote

from markupsafe import Markup

from debugkit import __version__
from debugkit.pages import environment, package_css, style_only_csp
from debugkit.serve.store import UNFINISHED, Entry
from debugkit.text import clip

RUNS_SCHEMA = "debugkit.serve-runs/1"
REFRESH_S = 30
TEXT_LIMIT = 600


def runs_document(entries: list[Entry]) -> dict[str, Any]:
    """``GET /runs.json``: every run, the newest delivery first, with links to its files."""
    return {
        "schema": RUNS_SCHEMA,
        "tool": {"name": "debugkit", "version": __version__},
        "runs": [{**entry.to_dict(), "links": {name: _href(entry, name) for name in entry.files}} for entry in entries],
    }


def index_csp() -> str:
    return style_only_csp(_css())


def render_index(entries: list[Entry]) -> str:
    context = {
        "csp": index_csp(),
        "css": Markup(_css()),
        "version": __version__,
        "refresh": REFRESH_S,
        "waiting": sum(1 for e in entries if e.state in UNFINISHED),
        "runs": [_row(entry) for entry in entries],
    }
    return environment("debugkit.serve").get_template("index.html.j2").render(context)


def _row(entry: Entry) -> dict[str, Any]:
    return {
        "run_id": entry.run_id,
        "skyvern_status": entry.skyvern_status,
        "deliveries": entry.deliveries,
        "state": entry.state,
        "cause": entry.cause,
        "category": entry.category,
        "text": clip(entry.error or entry.summary or f"{entry.state}…", TEXT_LIMIT),
        "notes": [clip(note, 300) for note in entry.notes],
        "received": _when(entry.received_at),
        "finished": _when(entry.finished_at),
        "links": [{"name": name, "href": _href(entry, name)} for name in entry.files],
    }


def _href(entry: Entry, name: str) -> str:
    return f"runs/{quote(entry.run_id, safe='')}/{quote(name, safe='')}"


def _when(value: str | None) -> dict[str, str] | None:
    try:
        when = datetime.fromisoformat(value) if value else None
    except ValueError:
        return None
    return {"iso": when.isoformat(), "text": when.strftime("%Y-%m-%d %H:%M:%S UTC")} if when else None


def _css() -> str:
    return package_css("debugkit.serve", "index.css")
