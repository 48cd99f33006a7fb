"""The one pipeline every output runs: read a source, redact it, analyse it, place its elements.

::

    path ──open_source──> RawRun ──load_run──> RunData ──redact_run──> RunData (shown)
         ──analyse──> analysis.Triage ──locate──> where each chosen element was on the screenshots

:func:`read` is the first two stages, :func:`prepare` the rest. The public API
(:func:`debugkit.triage`), every CLI command, the support bundle, ``debugkit runs`` and
``debugkit serve`` go through these two functions; none assembles the chain itself.

Reading fails with :class:`~debugkit.errors.SourceError` (one line) for a source that cannot be read
at all; damaged pieces of a readable run become ``run.problems``. Analysis never does I/O; locating
may start headless Chromium (``render=True``) and never raises for a missing browser: the location
says why.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from debugkit import allocator
from debugkit.analysis.triage import Triage as Analysis
from debugkit.analysis.triage import analyse
from debugkit.load import load_run
from debugkit.model import RawRun, RunData
from debugkit.redaction import RedactionPolicy, Redactor, Secret, redact_run
from debugkit.sources import open_source

if TYPE_CHECKING:
    from debugkit.locate.report import Overlays

# Which elements to place on the screenshots:
#   none      nothing (``location`` stays null)
#   decisive  the steps of the decisive and the failing action (what the terminal shows; fastest)
#   shown     what the bounded ``triage --json`` shows: as decisive, or every step when the run has neither
#             a decisive nor a failing action
#   all       every action of every shown step (``triage --json``)
#   report    every action, plus every interactable element's box for the report's "element numbers"
#             overlay (one re-render per step; the actions' locations are the same as "all")
Locate = Literal["none", "decisive", "shown", "all", "report"]


@dataclass
class Read:
    """A source as read: its raw pieces and the parsed run, never redacted."""

    raw: RawRun
    run: RunData


@dataclass
class Prepared:
    """A run ready for every output: the run as shown (redacted unless asked not to) and its analysis."""

    raw: RawRun
    read: RunData  # as read: never redacted (the bundle redacts its members itself)
    run: RunData  # what outputs show: ``read`` with every secret replaced, unless redact=False
    analysis: Analysis
    redacted: bool
    redactor: Redactor | None = None  # keep_redactor=True: redacts more members alike (the bundle's HAR, prompts)
    secrets: list[Secret] = field(default_factory=list)  # every secret value found (the bundle's check)
    overlays: Overlays | None = None  # with locate="report": per step, every element to number


def read(source: str | os.PathLike[str], *, warm: bool = False) -> Read:
    """Open a run folder, a storage tree or an archive ZIP and parse it (``SourceError`` if unreadable).

    ``warm=True`` (a command that will place elements) starts Chromium in the background as soon as the
    source is open and holds a page scrape, so that its start overlaps the parsing of the run.
    """
    raw = open_source(source)
    if warm and any(ref.artifact_type == "html_scrape" for ref in raw.artifacts):
        from debugkit.locate.render import warm_up

        warm_up()
    run = load_run(raw)
    allocator.trim()  # the CLI's process: what parsing the HAR left free goes back before the next stages
    allocator.keep_parsed()
    return Read(raw=raw, run=run)


def prepare(
    source: Read,
    *,
    step: str | None = None,
    redact: bool = True,
    api_keys: Iterable[str | None] = (),
    policy: RedactionPolicy | None = None,
    salt: bytes | None = None,
    locate: Locate = "none",
    render: bool = True,
    keep_redactor: bool = False,
) -> Prepared:
    """Redact (unless ``redact=False``), analyse, and place elements as ``locate`` says.

    ``step`` focuses the analysis on one step (``stp_...``, an order ``2``, or ``2.1``; a
    ``UsageError`` names the steps there are when it matches none). ``api_keys`` are redacted
    wherever they appear (``$SKYVERN_API_KEY`` always is). ``policy`` and ``salt`` shape the
    placeholders (the bundle salts each one anew). ``render=False`` never starts Chromium.
    ``keep_redactor`` keeps the redactor in ``Prepared.redactor`` (the bundle redacts more members with it);
    otherwise it is dropped before elements are placed (its automaton and remembered strings are about 10 MB on a
    30,000-request run).
    """
    redactor: Redactor | None = None
    secrets: list[Secret] = []
    shown = source.run
    if redact:
        shown, redactor, secrets = redact_run(source.raw, source.run, policy=policy, api_keys=api_keys, salt=salt)
        allocator.keep_parsed()  # the CLI's process: the run as shown lives until the command ends (see read)
    if render and locate in ("decisive", "shown", "all") and step is None:
        from debugkit.locate import likely_shown, render_ahead

        render_ahead(likely_shown(shown))  # Chromium renders the likely steps while the run is analysed
    analysis = analyse(shown, step=step)
    analysis.show_secrets = not redact
    prepared = Prepared(
        raw=source.raw, read=source.run, run=shown, analysis=analysis, redacted=redact,
        redactor=redactor if keep_redactor else None, secrets=secrets,
    )
    del redactor
    prepared.overlays = place(analysis, locate, render=render)
    return prepared


def place(analysis: Analysis, locate: Locate, *, render: bool = True) -> Overlays | None:
    """Fill ``analysis.locations`` as ``locate`` says; the report's overlays for ``"report"``."""
    if locate == "none":
        return None
    if locate == "report":
        from debugkit.locate.report import locate_for_report

        return locate_for_report(analysis, render=render)
    from debugkit.locate import locate_triage

    focused = analysis.diagnosis.decisive is not None or analysis.diagnosis.failing.view is not None
    locate_triage(analysis, render=render, decisive_only=locate == "decisive" or (locate == "shown" and focused))
    return None
