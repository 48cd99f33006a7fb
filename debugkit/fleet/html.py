"""The fleet overview page (``debugkit runs --html FILE``): one self-contained HTML file.

The same rules as the run report (:mod:`debugkit.report.html`): jinja2 with autoescaping, every
page-derived string (summaries, signatures, errors, run ids) passed as plain text and escaped by
the template; a Content-Security-Policy that allows nothing but the page's one inline style sheet
(by hash): no script, no image, no other origin. The only links are ``#`` fragments and, when the
runs' reports were written (``--reports DIR``), relative links to those files, percent-encoded
(so no path can become a ``javascript:`` URL).
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from markupsafe import Markup

from debugkit import __version__
from debugkit.analysis.causes import meaning_of
from debugkit.fleet.batch import FleetRow
from debugkit.fleet.clusters import OK_CAUSES, Cluster
from debugkit.fleet.report import Fleet, write_text
from debugkit.pages import environment, package_css, style_only_csp
from debugkit.redaction.patterns import redact_text
from debugkit.text import clip

TEXT_LIMIT = 600


def render_overview(fleet: Fleet, *, page_dir: Path | None = None) -> str:
    """The overview as one HTML document; report links are made relative to ``page_dir``."""
    css = package_css("debugkit.report", "fleet.css")
    context = {
        "csp": style_only_csp(css),
        "css": Markup(css),
        "version": __version__,
        "title": f"debugkit runs: {len(fleet.rows)} runs, {len(fleet.clusters)} problems",
        "headline": _headline(fleet),
        "generated": _when(fleet.generated_at),
        "notes": fleet.notes(),
        "clusters": [_cluster(index, cluster, page_dir) for index, cluster in enumerate(fleet.clusters, 1)],
        "run_count": len(fleet.rows),
    }
    return environment("debugkit.report").get_template("fleet.html.j2").render(context)


def write_overview(fleet: Fleet, path: Path) -> int:
    directory = path.parent if str(path.parent) else Path(".")
    return write_text(path, render_overview(fleet, page_dir=directory))


def _headline(fleet: Fleet) -> dict[str, Any]:
    query = fleet.query
    return {
        "source": fleet.source.get("base_url") or fleet.source.get("path") or "",
        "statuses": ", ".join(query.statuses) if query.statuses else "any status",
        "since": _when(query.since) if query.since else None,
        "limit": query.limit,
        "workflow": query.workflow,
        "not_triaged": fleet.failed_to_triage,
    }


def _cluster(index: int, cluster: Cluster, page_dir: Path | None) -> dict[str, Any]:
    return {
        "anchor": f"c{index}",
        "count": cluster.count,
        "cause": cluster.cause,
        "meaning": meaning_of(cluster.cause) or "the run could not be triaged",
        "category": cluster.category or "-",
        "bad": cluster.cause not in OK_CAUSES,
        "signature": _text(cluster.signature),
        "first_seen": _when(cluster.first_seen),
        "last_seen": _when(cluster.last_seen),
        "example": _run(cluster.example, page_dir),
        "skyvern": ", ".join(cluster.skyvern_categories) or "-",
        "runs": [_run(row, page_dir) for row in cluster.rows],
    }


def _run(row: FleetRow, page_dir: Path | None) -> dict[str, Any]:
    return {
        "run_id": clip(row.run_id, 120),
        "status": row.status or "-",
        "created": _when(row.created_at),
        "text": _text(row.error or row.summary or ""),
        "error": row.error is not None,
        "href": _href(row.report, page_dir),
    }


def _href(report: str | None, page_dir: Path | None) -> str | None:
    if not report:
        return None
    target = Path(report)
    if page_dir is not None:
        target = Path(os.path.relpath(target.resolve(), page_dir.resolve()))
    return "./" + quote(target.as_posix(), safe="/")


def _text(value: str) -> str:
    return clip(redact_text(value), TEXT_LIMIT)


def _when(value: datetime | None) -> dict[str, str] | None:
    if value is None:
        return None
    value = value.astimezone(UTC)
    return {"iso": value.isoformat(), "text": value.strftime("%Y-%m-%d %H:%M UTC")}

