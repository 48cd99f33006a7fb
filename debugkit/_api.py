"""The Python API: :func:`triage` one run, get a :class:`Triage`, write the outputs you need.

::

    import debugkit

    t = debugkit.triage("tsk_602253499937510590")      # a run id, a run folder, a storage tree or a ZIP
    print(t.verdict.cause, t.verdict.summary)          # site_server_error  The site answered ... 500 ...
    t.write_html("report.html")                        # what `debugkit report` writes
    t.write_bundle("ticket.zip")                       # what `debugkit bundle` writes (redacted, checked)

Everything the command line does goes through here (the CLI maps its options onto these calls) and
through :mod:`debugkit.pipeline`. Errors are the classes of :mod:`debugkit.errors`, each one line.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from debugkit.api.cache import looks_like_run_id
from debugkit.errors import UsageError

if TYPE_CHECKING:
    from rich.console import Console

    from debugkit.analysis.correlate import ActionView, StepView
    from debugkit.analysis.diagnose import Verdict
    from debugkit.analysis.triage import Triage as Analysis
    from debugkit.api.client import SkyvernClient
    from debugkit.api.fetch import FetchOptions, FetchReport
    from debugkit.locate.report import Overlays
    from debugkit.model import Problem, RunData
    from debugkit.pipeline import Locate, Prepared
    from debugkit.redaction.masking import MaskReport
    from debugkit.report.bundle import BundleResult

__all__ = ["Triage", "Written", "local_source", "open_triage", "triage"]

DEFAULT_WAIT = 30.0  # seconds a run that just ended may wait for its HAR and console log (the CLI's --wait)
DEFAULT_MAX_SIZE = 20 * 1000 * 1000  # the bundle's size cap (the CLI's --max-size 20)

Fetch = Callable[["SkyvernClient", str, "FetchOptions"], "FetchReport"]


def triage(
    source: str | os.PathLike[str],
    *,
    step: str | None = None,
    redact: bool = True,
    locate: bool = True,
    render: bool = True,
    cache_dir: str | os.PathLike[str] | None = None,
    refresh: bool = False,
    wait: float = DEFAULT_WAIT,
    base_url: str | None = None,
    api_key: str | None = None,
) -> Triage:
    """Triage one Skyvern run: what ``debugkit triage SOURCE`` does, as an object.

    ``source`` is a run id (``tsk_...``, ``wr_...``, ``tsk_v2_...``: fetched through the API into the
    cache first, like ``debugkit triage RUN_ID``; a finished run fetched completely before is read from
    the cache without asking the API anything), a run folder, Skyvern's local storage tree for a task,
    or a step/task archive ZIP.

    - ``step``: focus on one step (``"stp_..."``, an order ``"2"`` meaning its latest retry, or
      ``"2.1"``); the verdict stays the run's.
    - ``redact`` (default True): secrets (typed passwords, cookies, tokens, the API key) are replaced
      before anything is analysed, so nothing the Triage shows or writes holds them.
    - ``locate`` (default True): place every action's element on the screenshot the model saw
      (``location`` in :meth:`Triage.to_json`). ``render`` (default True) lets that use headless
      Chromium; without Chromium (or with ``render=False``) the locations say why, never an exception.
    - ``cache_dir``, ``refresh``, ``wait``, ``base_url``, ``api_key``: for run ids, as the CLI's
      ``--cache-dir``, ``--refresh``, ``--wait``, ``--base-url``, ``--api-key`` (defaults:
      ``$DEBUGKIT_CACHE_DIR``, ``$SKYVERN_BASE_URL``, ``$SKYVERN_API_KEY``).

    Raises :class:`~debugkit.errors.SourceError` for a source that cannot be read at all,
    :class:`~debugkit.errors.UsageError` for an unknown ``step``, and the
    :class:`~debugkit.errors.ApiError` family when a run id cannot be fetched.
    """
    path, _ = local_source(
        source, cache_dir=cache_dir, refresh=refresh, wait=wait, base_url=base_url, api_key=api_key
    )
    return open_triage(
        path, step=step, redact=redact, locate="report" if locate else "none", render=render, api_key=api_key
    )


def local_source(
    source: str | os.PathLike[str],
    *,
    cache_dir: str | os.PathLike[str] | None = None,
    refresh: bool = False,
    wait: float = DEFAULT_WAIT,
    base_url: str | None = None,
    api_key: str | None = None,
    concurrency: int | None = None,  # requests at once (default: DEFAULT_CONCURRENCY of debugkit.api.client)
    fetch: Fetch | None = None,
) -> tuple[Path, FetchReport | None]:
    """The local path to read: ``source`` itself, or for a run id its cache folder, fetched when needed.

    Only a ``str`` is taken for a run id (a ``Path`` is always a path), and not when it names an
    existing, non-empty path. Returns the path and what the fetch did (None when nothing was fetched).
    ``fetch`` replaces the fetcher (the CLI adds its progress bar)."""
    given = Path(os.fspath(source))
    if not (isinstance(source, str) and looks_like_run_id(source)) or _has_content(given):
        return given, None
    from debugkit.api.cache import cache_root, fetch_into_cache
    from debugkit.api.client import ApiConfig, SkyvernClient

    config = ApiConfig.from_env(base_url=base_url, api_key=api_key, concurrency=concurrency)
    with SkyvernClient(config) as client:
        return fetch_into_cache(
            client, source, cache_root(cache_dir), refresh=refresh, wait_seconds=wait, fetch=fetch
        )


def open_triage(
    path: str | os.PathLike[str],
    *,
    step: str | None = None,
    redact: bool = True,
    locate: Locate = "report",
    render: bool = True,
    api_key: str | None = None,
) -> Triage:
    """Triage a local source (a path, never a run id), placing elements as ``locate`` says.

    The CLI's ``triage`` places only what the terminal shows (``"decisive"``); :func:`triage` places
    every step (``"report"``: the same locations as ``"all"``, plus the report's element overlay).
    """
    from debugkit.pipeline import prepare, read

    source = Path(os.fspath(path))
    warm = render and locate != "none"
    prepared = prepare(
        read(source, warm=warm), step=step, redact=redact, api_keys=[api_key], locate=locate, render=render
    )
    return Triage(prepared, source=source, render=render, api_key=api_key)


def _has_content(path: Path) -> bool:
    """A path that exists and is not an empty folder (a failed fetch may have left one)."""
    if not path.exists():
        return False
    try:
        return not path.is_dir() or any(path.iterdir())
    except OSError:
        return True


@dataclass
class Written:
    """One output written: where, how many bytes, and what the screenshot masks did (None: not redacted)."""

    path: Path
    size: int
    masks: MaskReport | None = None

    @property
    def notes(self) -> list[str]:
        """What a reader should know about the pictures (screenshots masked or left out), one line each."""
        line = self.masks.summary() if self.masks is not None else None
        return [line] if line else []  # the CLI prints these as "debugkit: note: ..."


class Triage:
    """Why one Skyvern run failed, and everything that answer rests on.

    Read it top down, as the terminal view does:

    - :attr:`verdict`: the answer. ``verdict.cause`` is one id of a fixed vocabulary
      (``site_server_error``, ``element_disabled``, ``none`` for a completed run, ...; the README's
      cause table), ``verdict.category`` Skyvern's own name for it, ``verdict.summary`` one paragraph,
      ``verdict.chain`` the links from the root cause to the symptom Skyvern reported, and
      ``verdict.evidence`` every item cited (each with ``kind``, ``ref`` and ``detail``).
    - :attr:`decisive_action`: the action the verdict is about (an
      :class:`~debugkit.analysis.correlate.ActionView`: ``.action`` what the model chose,
      ``.element`` what that element really was, ``.network`` / ``.console`` what happened around it),
      or None. :attr:`failing_action` is the last action that failed, when one did.
    - :attr:`steps`: every step (only the focused one with ``step=``) with its actions, joined.
    - :attr:`problems`: damaged or missing artifacts; the analysis went on without them.

    Outputs: :meth:`to_json` (the ``debugkit.triage/1`` document of ``--json``), :meth:`print` (the
    terminal view), :meth:`write_html` (``debugkit report``), :meth:`write_bundle` (``debugkit bundle``).

    With ``redact=True`` (the default) the run was redacted before it was analysed: :attr:`run`, the
    views, every output hold placeholders, never the secrets. :attr:`analysis` is the underlying
    :class:`debugkit.analysis.triage.Triage` (the correlation, the rules' facts) for advanced use.
    """

    def __init__(self, prepared: Prepared, *, source: Path, render: bool = True, api_key: str | None = None) -> None:
        self._prepared = prepared
        self._render = render
        self._api_key = api_key
        self._masks: MaskReport | None = None
        self._masked = False
        self.source = source  # the local folder or ZIP that was read (for a run id: its cache copy)

    # --- the answer -------------------------------------------------------------------------------

    @property
    def analysis(self) -> Analysis:
        """The analysed model every reporter reads (:class:`debugkit.analysis.triage.Triage`)."""
        return self._prepared.analysis

    @property
    def run(self) -> RunData:
        """The run as shown: steps, actions, network, console, artifacts (redacted unless redact=False)."""
        return self._prepared.run

    @property
    def run_id(self) -> str | None:
        return self.run.run_id

    @property
    def redacted(self) -> bool:
        return self._prepared.redacted

    @property
    def verdict(self) -> Verdict:
        """The root cause, its Skyvern category, a summary, the chain to the symptom and the evidence."""
        return self.analysis.diagnosis.verdict

    @property
    def decisive_action(self) -> ActionView | None:
        """The action the verdict is about: the failing action, or the one whose request failed."""
        return self.analysis.diagnosis.decisive

    @property
    def failing_action(self) -> ActionView | None:
        """The last failed action of the latest step that has one (``wait`` does not count), or None."""
        return self.analysis.diagnosis.failing.view

    @property
    def failing_action_reason(self) -> str | None:
        """Why there is no failing action (e.g. "the run completed"), when there is none."""
        return self.analysis.diagnosis.failing.reason

    @property
    def steps(self) -> list[StepView]:
        """The steps in run order (only the focused one with ``step=``), each with its joined actions."""
        return self.analysis.steps

    @property
    def problems(self) -> list[Problem]:
        """Damaged, refused or missing artifacts: named, and the analysis went on without them."""
        return self.run.problems

    def __repr__(self) -> str:
        return f"<debugkit.Triage {self.run_id or self.source}: {self.verdict.cause}>"

    # --- outputs ----------------------------------------------------------------------------------

    def to_json(self, *, full: bool = False) -> dict[str, Any]:
        """The ``debugkit.triage/1`` document (README: "The --json contract"), ready for ``json.dumps``.

        Bounded by default (each step and action lists its failed requests and console errors, with
        counts); ``full=True`` lists every request and console line."""
        from debugkit.report.json_report import triage_document

        return triage_document(self.analysis, full=full)

    def print(self, console: Console | None = None, *, steps: bool = False) -> None:
        """Print the terminal view (a :class:`rich.console.Console`; default: stdout). ``steps``: add
        a table of every step and its actions (``--steps``)."""
        from rich.console import Console

        from debugkit.report.terminal import render

        render(self.analysis, console or Console(highlight=False, soft_wrap=False), show_steps=steps)

    def write_html(self, path: str | os.PathLike[str]) -> Written:
        """Write the self-contained HTML report (``debugkit report``) atomically; return what was written.

        Screenshots are masked over secret fields when redacted. The path may not be inside or over
        the source, and its folder must exist (:class:`~debugkit.errors.UsageError` otherwise)."""
        from debugkit.outputs import check_output, write_output
        from debugkit.report.html import render_html

        target = Path(os.fspath(path))
        check_output(target, [self.source])
        overlays = self._overlays()
        masks = self._mask(overlays)
        data = render_html(self.analysis, redact=self.redacted, overlays=overlays).encode("utf-8")
        write_output(target, data)
        return Written(path=target, size=len(data), masks=masks)

    def write_bundle(self, path: str | os.PathLike[str], *, max_size: int = DEFAULT_MAX_SIZE) -> BundleResult:
        """Write the support-ticket ZIP (``debugkit bundle``); ``max_size`` in bytes.

        The bundle is built from the run as read and redacted with placeholders salted for it alone,
        then checked: a secret left in any member raises :class:`~debugkit.errors.BundleRefused` and
        nothing is written. Returns the members, what was dropped to fit and what was left out."""
        from debugkit.outputs import check_output
        from debugkit.report.bundle import build_bundle

        if max_size <= 0:
            raise UsageError("the bundle's size cap must be above 0")
        target = Path(os.fspath(path))
        check_output(target, [self.source])
        return build_bundle(
            self._prepared.raw, self._prepared.read, target, redact=self.redacted, max_size=int(max_size),
            api_keys=[self._api_key], render=self._render,
        )

    def default_html_name(self) -> str:
        """``debugkit-<run id>.html`` (what ``debugkit report`` writes without ``-o``)."""
        from debugkit.report.html import default_filename

        return default_filename(self.analysis)

    # --- internals --------------------------------------------------------------------------------

    def _overlays(self) -> Overlays:
        """Every element to number on each step's screenshots; locates for the report once."""
        if self._prepared.overlays is None:
            from debugkit.pipeline import place

            self._prepared.overlays = place(self.analysis, "report", render=self._render) or {}
        return self._prepared.overlays

    def _mask(self, overlays: Overlays) -> MaskReport | None:
        """Cover the secret fields on the shown steps' screenshots, once (not when not redacted)."""
        if not self.redacted:
            return None
        if not self._masked:
            from debugkit.redaction.masking import mask_run

            steps = [view.step for view in self.steps]
            self._masks = mask_run(self.run, steps=steps, locations=overlays, render=self._render)
            self._masked = True
        return self._masks
