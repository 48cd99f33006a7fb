"""The HTML report: one self-contained file (``debugkit report SOURCE -o report.html``).

Built from the same :class:`~debugkit.analysis.triage.Triage` as the terminal and JSON reports;
nothing here reads an artifact. The page is rendered by jinja2 with autoescaping on, from
templates in ``debugkit/report/templates/``; no HTML is assembled from strings here.

Safety rules the code keeps:

* every page-derived string (element text, attributes, HTML snippets, URLs, reasoning, console
  lines, failure text) reaches the template as plain ``str`` and is escaped there; only the
  report's own CSS and JS (package files) are passed as markup;
* URLs are shown as text, never as links: the only ``href`` values are ``#`` fragments built
  from sanitised ids (:func:`anchor_id`);
* a Content-Security-Policy ``<meta>`` allows nothing but ``data:`` images, the one inline
  style sheet and the one inline script (both by SHA-256 hash); no other origin is contacted.
  The style sheet is the package's ``report.css`` plus rules generated here for the element-number
  overlays (class names and percentages made from numbers only, never from page text), hashed
  together for each report, so no element needs a ``style`` attribute;
* with ``redact=True`` (the default) values typed into secret fields are masked (length and
  field, not the value), every occurrence of such a value elsewhere is masked too, and URLs and
  free text go through :func:`debugkit.redaction.patterns.redact_url` / :func:`debugkit.redaction.patterns.redact_text`
  (signed query strings, tokens, cookie and authorization values).

Where the element was (``Triage.locations``, filled by :func:`debugkit.locate.locate_triage` or
:func:`locate_for_report`): an action card shows a crop of the screenshot the model saw around its
element (:func:`debugkit.locate.crop`, in the image budget) and one line from
:func:`debugkit.locate.describe`, or the reason it could not be placed. The step's "what the model
saw" gallery gets an "element numbers" toggle that draws the boxes of ``overlays[step_id]`` (every
interactable element, from :func:`locate_for_report`) over the screenshots, or, without overlays,
the boxes of the step's chosen elements from ``Triage.locations``.

The page is built here from its parts: :mod:`.sanitize` (page text made safe, ids),
:mod:`.overlays` (the element numbers), :mod:`.network_panel` (every request, as compressed data the
page renders on demand), :mod:`.images` (screenshots in the image budget).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import re
import tempfile
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from debugkit import __version__
from debugkit.analysis.categories import CATEGORIES
from debugkit.analysis.causes import meaning_of
from debugkit.analysis.correlate import ActionView, StepView
from debugkit.analysis.diagnose import describe_element
from debugkit.analysis.triage import Triage
from debugkit.locate import Location, crop, describe
from debugkit.locate.report import Overlays, locate_for_report
from debugkit.model import ConsoleLine, Element, Screenshot, StepData
from debugkit.redaction.masking import LEFT_OUT
from debugkit.redaction.policy import TYPING_ACTIONS, is_placeholder, is_secret_field, shown_typed, typed_kind
from debugkit.report.images import CROP_FORMAT, IMAGE_BUDGET, ImageSet
from debugkit.report.network_panel import NetworkPanel
from debugkit.report.overlays import OverlayDrawer
from debugkit.report.sanitize import Sanitizer, anchor_id, ref_anchor
from debugkit.timeutil import iso

__all__ = ["Overlays", "anchor_id", "default_filename", "locate_for_report", "render_html", "write_html"]

SHOWN_ATTRIBUTES = (
    "type", "name", "id", "role", "aria-label", "placeholder", "href", "src", "value", "autocomplete",
    "disabled", "readonly", "required", "checked", "selected", "title", "for", "data-testid",
)
ATTRIBUTE_LIMIT = 300
CARD_REQUEST_LIMIT = 40  # successful requests listed in an action card (all failures are listed)
CARD_CONSOLE_LIMIT = 40
OUTCOME_CLASS = {
    "succeeded": "ok",
    "failed": "bad",
    "not executed": "muted",
    "unknown": "warn",
    "skipped": "warn",
}
STATUS_CLASS = {
    "completed": "ok",
    "failed": "bad",
    "terminated": "bad",
    "timed_out": "bad",
    "canceled": "muted",
    "running": "warn",
    "queued": "warn",
    "created": "warn",
}
_UNSAFE_FILENAME = re.compile(r"[^A-Za-z0-9_.-]")
_VALUE_ATTR = re.compile(r"""(\bvalue\s*=\s*)("[^"]*"|'[^']*'|[^\s>]+)""", re.IGNORECASE)
CROP_MARGIN = 120  # screenshot pixels around the element in an action card's crop
CROP_MAX_WIDTH = 560
LOW_CONFIDENCE = 0.6  # a location below this is shown as uncertain


# --- public API -----------------------------------------------------------------------------------


def render_html(t: Triage, *, redact: bool = True, overlays: Overlays | None = None) -> str:
    """The report as one HTML document (a string), self-contained and safe to open anywhere.

    ``overlays`` (from :func:`locate_for_report`): per step, every element to number on its screenshots.
    Without it, a step's overlay shows the chosen elements ``t.locations`` has, and nothing when it has none.
    """
    context = _Builder(t, redact=redact, overlays=overlays).build()
    assets = _assets()
    css = assets["css"]
    css_hash = assets["css_hash"]
    if context["overlay_css"]:
        css = f"{css}\n{context['overlay_css']}\n"
        css_hash = _csp_hash(css)
    context["css"] = Markup(css)
    context["script"] = Markup(assets["js"])
    context["csp"] = (
        "default-src 'none'; img-src data:; "
        f"style-src '{css_hash}'; script-src '{assets['js_hash']}'; "
        "base-uri 'none'; form-action 'none'"
    )
    return _environment().get_template("report.html.j2").render(context)


def write_html(
    t: Triage, path: str | os.PathLike[str], *, redact: bool = True, overlays: Overlays | None = None
) -> int:
    """Write the report atomically (a temporary file beside ``path``, then a rename); return its size."""
    data = render_html(t, redact=redact, overlays=overlays).encode("utf-8")
    target = Path(path)
    directory = target.parent if str(target.parent) else Path(".")
    fd, temp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp, 0o644)
        os.replace(temp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
    return len(data)


def default_filename(t: Triage) -> str:
    """``debugkit-<run id>.html``, the run id reduced to characters safe in any file name."""
    run_id = _UNSAFE_FILENAME.sub("_", t.run.run_id or "")[:100].strip("._")
    return f"debugkit-{run_id or 'run'}.html"


# --- templates and assets -------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("debugkit.report", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env


@lru_cache(maxsize=1)
def _assets() -> dict[str, str]:
    env = _environment()
    assert env.loader is not None
    css = env.loader.get_source(env, "report.css")[0]
    js = env.loader.get_source(env, "report.js")[0]
    for name, text, closing in (("report.css", css, "</style"), ("report.js", js, "</script")):
        if closing in text.lower() or "<!--" in text:
            raise RuntimeError(f"{name} must not contain {closing} or <!--")
    return {"css": css, "js": js, "css_hash": _csp_hash(css), "js_hash": _csp_hash(js)}


def _csp_hash(text: str) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii")


# --- the page's data ------------------------------------------------------------------------------


class _Builder:
    """Turns a Triage into plain data for the template; every untrusted string passes the sanitizer
    (``_text``, ``_url``)."""

    def __init__(self, t: Triage, *, redact: bool, overlays: Overlays | None = None) -> None:
        self.t = t
        self.redact = redact
        self.images = ImageSet(budget=IMAGE_BUDGET)
        sanitizer = Sanitizer.for_triage(t, redact=redact)
        self._text = sanitizer.text
        self._url = sanitizer.url
        self.overlay = OverlayDrawer(t, overlays, self.images, sanitizer)
        self._lightboxes: set[str] | None = None
        self._digests: dict[int, str] = {}  # id(screenshot) -> its bytes' hash, for the crops' keys
        self.origin = t.run.started_at or t.run.created_at or _first_time(t)
        self.anchors: set[str] = set()
        decisive = t.diagnosis.decisive or t.diagnosis.failing.view
        self.decisive = decisive
        self.failing = t.diagnosis.failing.view
        self.evidence_refs = {e.ref for e in t.diagnosis.verdict.evidence}
        self.network = NetworkPanel(t, sanitizer, self.origin, self.evidence_refs)

    # -- times -----------------------------------------------------------------------------------

    def _when(self, value: datetime | None) -> dict[str, str] | None:
        if value is None:
            return None
        rel = None
        if self.origin is not None:
            seconds = round((value - self.origin).total_seconds(), 1)
            rel = f"{'-' if seconds < 0 else '+'}{abs(seconds):.1f} s"
        return {"iso": iso(value) or "", "clock": value.strftime("%H:%M:%S.%f")[:-3], "rel": rel or ""}

    # -- the whole page ------------------------------------------------------------------------

    def build(self) -> dict[str, Any]:
        t = self.t
        steps = t.steps
        self._register_images(steps)
        self._register_crops(steps)
        self.images.encode()
        step_models = [self._step(view) for view in steps]
        network = self.network.build()
        self.anchors |= self.network.anchors
        console = self._console_rows()
        header = self._header()
        if header["run"]["failure_reason"]:
            self.anchors.add("failure-reason")
        if header["failing"] and header["failing"]["href"] not in self.anchors:
            header["failing"]["href"] = None  # e.g. a --step focus that does not show it
        for item in header["evidence"]:  # a link only where its target is in the page
            if item["href"] and item["href"] not in self.anchors:
                item["missing"] = True
                item["href"] = None
        lightboxes = [self._lightbox(image) for image in self.images.images() if not image.error]
        return {
            "version": __version__,
            "title": f"debugkit report: {header['run']['id'] or 'run'}",
            "redacted": self.redact,
            "header": header,
            "timeline": self._timeline(steps),
            "steps": step_models,
            "network": network,
            "console": console,
            "lightboxes": lightboxes,
            "image_note": self._image_note(),
            "overlay_css": self.overlay.css(),
            "focus": self._text(f"step {t.focus.step.label} ({t.focus.step.step_id})") if t.focus else None,
        }

    def _image_note(self) -> str | None:
        omitted = sum(1 for image in self.images.images() if image.full_omitted)
        crops = sum(1 for c in self.images.crops() if c.omitted)
        notes = []
        if omitted:
            notes.append(
                f"{omitted} screenshot(s) are shown enlarged from their thumbnail: their full-size versions did "
                f"not fit the report's image budget ({IMAGE_BUDGET // 1000} kB)."
            )
        if crops:
            notes.append(f"{crops} element picture(s) were left out to keep the report small.")
        hidden = self._left_out_shots()
        if hidden:
            notes.append(
                f"{hidden} screenshot(s) were left out: they may show a secret field that could not be masked "
                "with confidence (each placeholder says why)."
            )
        return " ".join(notes) or None

    def _left_out_shots(self) -> int:
        """Screenshots the masking left out (debugkit.redaction.masking): a placeholder each."""
        shots = [s for v in self.t.steps for s in [*v.step.screenshots_llm, *v.step.screenshots_action]]
        shots += [v.step.screenshot_final for v in self.t.steps if v.step.screenshot_final is not None]
        return sum(1 for s in shots if s.error and s.error.startswith(LEFT_OUT))

    # -- header --------------------------------------------------------------------------------

    def _header(self) -> dict[str, Any]:
        t = self.t
        run = t.run
        verdict = t.diagnosis.verdict
        duration = _seconds(run.started_at or run.created_at, run.finished_at)
        evidence = []
        for item in verdict.evidence:
            href = ref_anchor(item.ref)
            evidence.append(
                {
                    "kind": item.kind,
                    "ref": self._text(item.ref, 200),
                    "detail": self._text(item.detail),
                    "href": href,
                    "missing": False,
                }
            )
        chain = [
            {
                "kind": item.kind,
                "ref": self._text(item.ref, 200),
                "detail": self._text(item.detail),
                "href": ref_anchor(item.ref),
            }
            for item in verdict.chain
        ]
        failing = None
        if self.decisive is not None:
            view = self.decisive
            failing = {
                "title": "Failing action" if self.failing is view else "Decisive action",
                "href": anchor_id("a", view.step.step_id, view.action.index),
                "label": self._text(_action_label(view)),
            }
        labels = {s.step_id: s.label for s in run.steps}
        problems = [
            {
                "kind": "missing" if p.kind in ("missing", "archived") else p.kind,
                "artifact_type": self._text(p.artifact_type or "-", 200),
                "where": self._text(_where(p.step_id, labels), 200),
                "href": anchor_id("s", p.step_id) if p.step_id else None,
                "detail": self._text(p.detail),
            }
            for p in run.problems
        ]
        step_ids = {s.step.step_id for s in t.steps}
        for problem, raw in zip(problems, run.problems, strict=True):
            if raw.step_id not in step_ids:
                problem["href"] = None
        return {
            "run": {
                "id": self._text(run.run_id, 200),
                "type": self._text(run.run_type, 200),
                "status": self._text(run.status or "unknown", 100),
                "status_class": STATUS_CLASS.get(run.status or "", "warn"),
                "failure_reason": self._text(run.failure_reason),
                "created": self._when(run.created_at),
                "started": self._when(run.started_at),
                "finished": self._when(run.finished_at),
                "duration": _format_seconds(duration),
                "step_count": run.step_count if run.step_count is not None else len(run.steps),
                "source": self._text(run.source, 500),
                "source_kind": self._text(run.source_kind, 100),
                "results_known": run.steps_from_api,
                "skyvern": [
                    {
                        "category": self._text(row.get("category"), 100),
                        "confidence": _number(row.get("confidence_float")),
                        "reasoning": self._text(row.get("reasoning")),
                        "codes": self._text(
                            ", ".join(str(row[k]) for k in ("reason_code", "evidence_source") if row.get(k)), 200
                        ),
                    }
                    for row in run.skyvern_categories
                ],
                "error_codes": self._text(
                    ", ".join(str(e.get("error_code")) for e in run.errors if e.get("error_code")), 300
                ),
            },
            "verdict": {
                "cause": verdict.cause,
                "cause_meaning": meaning_of(verdict.cause),
                "chain": chain,
                "missing": verdict.missing_evidence,
                "category": verdict.category,
                "meaning": CATEGORIES.get(verdict.category or "", ""),
                "confidence": f"{verdict.confidence:.2f}",
                "confidence_pct": round(verdict.confidence * 100),
                "summary": self._text(verdict.summary),
                "rule": verdict.rule,
                "completed": verdict.cause in ("none", "canceled_by_user"),
            },
            "evidence": evidence,
            "failing": failing,
            "failing_reason": self._text(t.diagnosis.failing.reason) if failing is None else None,
            "problems": problems,
        }

    # -- timeline ------------------------------------------------------------------------------

    def _timeline(self, steps: list[StepView]) -> list[dict[str, Any]]:
        orders: dict[int, list[dict[str, Any]]] = {}
        for view in steps:
            step = view.step
            failed = sum(1 for e in view.network if e.failed and not e.noise)
            orders.setdefault(step.order, []).append(
                {
                    "href": anchor_id("s", step.step_id),
                    "label": step.label,
                    "retry": step.retry_index,
                    "status": self._text(step.status or "status unknown", 100),
                    "status_class": STATUS_CLASS.get(step.status or "", "warn"),
                    "url": self._url(step.website_url, 300),
                    "duration": _format_seconds(_seconds(step.created_at, step.modified_at)),
                    "failed_requests": failed,
                    "decisive": self.decisive is not None and self.decisive.step is step,
                    "actions": [
                        {
                            "href": anchor_id("a", step.step_id, a.action.index),
                            "type": self._text(a.action.action_type, 60),
                            "element_id": self._text(a.action.element_id, 60),
                            "outcome": a.outcome,
                            "outcome_class": OUTCOME_CLASS.get(a.outcome, "warn"),
                            "decisive": a is self.decisive,
                        }
                        for a in view.actions
                    ],
                }
            )
        return [{"order": order, "attempts": attempts} for order, attempts in orders.items()]

    # -- steps and actions -----------------------------------------------------------------------

    def _register_images(self, steps: list[StepView]) -> None:
        """Screenshots in the order the image budget is spent: the decisive step, then latest first."""
        ordered = list(reversed(steps))
        if self.decisive is not None:
            ordered.sort(key=lambda v: v.step is not self.decisive.step)
        for view in ordered:
            step = view.step
            for shot in step.screenshots_action + step.screenshots_llm:
                self.images.add(shot)
            if step.screenshot_final is not None:
                self.images.add(step.screenshot_final)

    def _location(self, view: ActionView) -> Location | None:
        return self.t.locations.get((view.step.step_id, view.action.index))

    def _register_crops(self, steps: list[StepView]) -> None:
        """Each located action's crop, in the order the budget is spent: the decisive action, its step,
        then the other steps latest first."""
        ordered = list(reversed(steps))
        if self.decisive is not None:
            ordered.sort(key=lambda v: v.step is not self.decisive.step)
        views = [a for step_view in ordered for a in step_view.actions]
        if self.decisive is not None:
            views.sort(key=lambda a: a is not self.decisive)
        for view in views:
            location = self._location(view)
            key = self._crop_key(view, location)
            if key is None:
                continue
            step, action = view.step, view.action
            label = action.element_id or "point"

            def make(step=step, location=location, label=label, kind=action.action_type) -> bytes | None:
                return crop(
                    step, location, element_id=label, action=kind, margin=CROP_MARGIN, max_width=CROP_MAX_WIDTH,
                    fmt=CROP_FORMAT,
                )

            # The decisive step's crops are always in (like thumbnails); the others while the budget allows.
            essential = self.decisive is not None and view.step is self.decisive.step
            self.images.add_crop(key, make, essential=essential)

    def _crop_key(self, view: ActionView, location: Location | None) -> str | None:
        """What the crop shows (the screenshot's bytes, the box, its kind, the label): equal keys, one picture."""
        if location is None or not location.found:
            return None
        shots = view.step.screenshots_llm
        shot = shots[location.tile] if location.tile is not None and 0 <= location.tile < len(shots) else None
        if shot is None or not shot.data:
            return None
        digest = self._digests.get(id(shot))
        if digest is None:
            digest = self._digests[id(shot)] = hashlib.sha256(shot.data).hexdigest()[:20]
        return "|".join(
            str(part)
            for part in (digest, location.box, location.method, view.action.element_id, view.action.action_type)
        )

    def _where(self, view: ActionView) -> dict[str, Any] | None:
        """Where the action's element was: a crop and one line, or why it is not known; None if not located."""
        location = self._location(view)
        if location is None:
            return None
        step = view.step
        line = self._text(describe(location, step), 600)
        if not location.found:
            return {"found": False, "line": line, "reason": self._text(location.reason, 600)}
        key = self._crop_key(view, location)
        picture = self.images.get_crop(key) if key is not None else None
        href = None
        shots = step.screenshots_llm
        if location.tile is not None and 0 <= location.tile < len(shots):
            image = self.images.get(shots[location.tile])
            if not image.error and f"lb-{image.key}" in self._lightbox_ids():
                href = f"lb-{image.key}"
        confidence = location.confidence
        return {
            "found": True,
            "line": line,
            "reason": self._text(location.reason, 600),
            "approximate": location.approximate,
            "low": confidence is not None and confidence < LOW_CONFIDENCE,
            "src": picture.src if picture is not None else None,
            "width": picture.width if picture is not None else None,
            "height": picture.height if picture is not None else None,
            "missing": None
            if picture is not None and picture.src
            else "picture left out to keep the report small"
            if picture is not None and picture.omitted
            else self._no_picture(step, location),
            "href": href,
            "alt": self._text(f"where {view.action.element_id or 'the click'} was: {describe(location, step)}", 600),
        }

    def _no_picture(self, step: StepData, location: Location) -> str:
        shots = step.screenshots_llm
        shot = shots[location.tile] if location.tile is not None and 0 <= location.tile < len(shots) else None
        if shot is not None and shot.error and shot.error.startswith(LEFT_OUT):
            return f"no picture: the screenshot was {self._text(shot.error, 300)}"
        return "no picture: the screenshot could not be read"

    def _lightbox_ids(self) -> set[str]:
        if self._lightboxes is None:  # the images are encoded by now
            self._lightboxes = {f"lb-{image.key}" for image in self.images.images() if not image.error}
        return self._lightboxes

    # -- the element-number overlay ------------------------------------------------------------

    def _shot(self, shot: Screenshot, caption: str) -> dict[str, Any]:
        image = self.images.get(shot)
        name = self._text(shot.artifact_id or shot.name, 200)
        if image.error:
            return {
                "error": self._text(image.error, 300),
                "name": name,
                "caption": caption,
                "type": shot.artifact_type,
            }
        return {
            "error": None,
            "name": name,
            "caption": caption,
            "type": shot.artifact_type,
            "src": image.thumb,
            "width": image.thumb_width,
            "height": image.thumb_height,
            "href": f"lb-{image.key}",
            "size": f"{image.width}×{image.height}" if image.width else "",
            "cropped": image.cropped,
            "has_full": image.full is not None and not image.cropped,  # the overlay view may show it instead
            "boxes": [],
        }

    def _lightbox(self, image) -> dict[str, Any]:
        note = None
        if image.full_omitted:
            note = "full-size version left out to keep the report small; this is the thumbnail enlarged"
        elif image.full is None and image.cropped:
            note = "top of the page only"
        return {
            "id": f"lb-{image.key}",
            "src": image.full,  # None: the page script shows the thumbnail enlarged
            "width": image.full_width or image.thumb_width,
            "height": image.full_height or image.thumb_height,
            "size": f"{image.width}×{image.height}" if image.width else "",
            "note": note,
        }

    def _step(self, view: StepView) -> dict[str, Any]:
        step = view.step
        anchor = anchor_id("s", step.step_id)
        self.anchors.add(anchor)
        paired: set[int] = set()
        actions = []
        for action_view in view.actions:
            shot = _action_screenshot(action_view)
            if shot is not None:
                paired.add(id(shot))
            actions.append(self._action(action_view, shot))
        llm_shots = [
            self._shot(s, f"model saw #{s.index if s.index is not None else i}")
            for i, s in enumerate(step.screenshots_llm)
        ]
        overlay = self.overlay.step(step)
        if overlay is not None:
            for i, shot_model in enumerate(llm_shots):
                if not shot_model["error"]:
                    shot_model["boxes"] = overlay["tiles"].get(i, [])
        other_shots = [
            self._shot(s, "after an action (unpaired)") for s in step.screenshots_action if id(s) not in paired
        ]
        if step.screenshot_final is not None:
            other_shots.append(self._shot(step.screenshot_final, "final page"))
        failed = [e for e in view.network if e.failed and not e.noise]
        return {
            "anchor": anchor,
            "label": step.label,
            "order": step.order,
            "retry": step.retry_index,
            "step_id": self._text(step.step_id, 200),
            "task_id": self._text(step.task_id, 200),
            "status": self._text(step.status or "status unknown", 100),
            "status_class": STATUS_CLASS.get(step.status or "", "warn"),
            "url": self._url(step.website_url),
            "started": self._when(step.created_at),
            "duration": _format_seconds(_seconds(step.created_at, step.modified_at)),
            "times_estimated": step.times_estimated,
            "exception": self._text(step.step_exception),
            "decisive": self.decisive is not None and self.decisive.step is step,
            "has_output": step.has_output,
            "llm_calls": step.llm_calls,
            "request_count": len(view.network),
            "failed_count": len(failed),
            "console_errors": sum(1 for c in view.console if c.level == "error"),
            "llm_shots": llm_shots,
            "overlay": overlay,
            "other_shots": other_shots,
            "actions": actions,
        }

    def _action(self, view: ActionView, shot: Screenshot | None) -> dict[str, Any]:
        action = view.action
        anchor = anchor_id("a", view.step.step_id, action.index)
        if anchor in self.anchors:  # two actions with one action_order: evidence points to the first
            anchor = anchor_id("a", view.step.step_id, action.index, len(self.anchors))
        self.anchors.add(anchor)
        result = action.result
        typed, typed_masked, secret_field = self._typed(view)
        requests = sorted(view.network, key=lambda e: (not e.failed, e.noise, e.index))
        failed = [e for e in requests if e.failed]
        ok = [e for e in requests if not e.failed]
        console = sorted(view.console, key=lambda c: (c.level != "error", c.level != "warning", c.line_no))
        return {
            "anchor": anchor,
            "index": action.index,
            "step_label": view.step.label,
            "type": self._text(action.action_type, 100),
            "element_id": self._text(action.element_id, 100),
            "outcome": view.outcome,
            "outcome_class": OUTCOME_CLASS.get(view.outcome, "warn"),
            "is_failing": view is self.failing,
            "is_decisive": view is self.decisive,
            "in_evidence": view.ref in self.evidence_refs,
            "status": self._text(action.status, 100),
            "source": action.source,
            "reasoning": self._text(action.reasoning),
            "confidence": _number(action.confidence),
            "typed": typed,
            "typed_masked": typed_masked,
            "secret_field": secret_field,
            "started": self._when(action.started_at),
            "duration": _format_seconds(_seconds(action.started_at, action.finished_at)),
            "page_url": self._url(action.page_url) if action.page_url != view.step.website_url else None,
            "element": self._element(view),
            "result": None
            if result is None
            else {
                "success": result.success,
                "exception_type": self._text(result.exception_type, 300),
                "exception_message": self._text(result.exception_message),
                "stop": result.stop_execution_on_failure,
            },
            "results_known": action.results is not None,
            "failed_requests": [self.network.card_request(e) for e in failed],
            "ok_requests": [self.network.card_request(e) for e in ok[:CARD_REQUEST_LIMIT]],
            "ok_more": max(0, len(ok) - CARD_REQUEST_LIMIT),
            "console": [self._card_console(c) for c in console[:CARD_CONSOLE_LIMIT]],
            "console_more": max(0, len(console) - CARD_CONSOLE_LIMIT),
            "window_known": view.window[0] is not None and view.window[1] is not None,
            "shot": self._shot(shot, "after this action") if shot is not None else None,
            "where": self._where(view),
        }

    def _typed(self, view: ActionView) -> tuple[str | None, bool, bool]:
        text = view.action.text
        if text is None or view.action.action_type not in TYPING_ACTIONS:
            return None, False, False
        join = view.element
        kind = typed_kind(view.action.action_type, join.element if join else None, join.label if join else None)
        secret = kind is not None
        if (secret and self.redact) or is_placeholder(text):
            return shown_typed(text, secret=secret, length=view.action.text_length), True, secret
        return self._text(text), False, secret

    def _element(self, view: ActionView) -> dict[str, Any] | None:
        join = view.element
        if join is None:
            return None
        element = join.element
        secret = is_secret_field(element, join.label) if element is not None else False
        html = join.html.outer_html if join.html else None
        if html and secret and self.redact:
            html = _VALUE_ATTR.sub(lambda m: f'{m.group(1)}"{_mask_value(m.group(2).strip(chr(34) + chr(39)))}"', html)
        facts = None
        if element is not None:
            frame = "iframe " + " > ".join(element.frame_chain) if element.frame_chain else "main frame"
            facts = {
                "tag": self._text(element.tag, 100),
                "text": self._text(element.text),
                "label": self._text(join.label),
                "frame": self._text(frame, 300),
                "frame_name": self._text(element.frame, 100),
                "interactable": element.interactable,
                "disabled": bool(element.attributes.get("disabled")),
                "attributes": self._attributes(element, secret),
                "xpath": self._text(element.xpath, 500),
                "description": self._text(describe_element(view)),
            }
        return {
            "found": join.found,
            "found_text": {True: "found", False: "not on the page", None: "unknown"}[join.found],
            "found_class": {True: "ok", False: "bad", None: "warn"}[join.found],
            "source": join.source,
            "in_scrape": join.in_scrape,
            "facts": facts,
            "html": self._text(html, 4000) if html else None,
            "present_after": join.html.present_after_action if join.html else None,
            "note": self._text(join.note),
            "secret": secret,
        }

    def _attributes(self, element: Element, secret: bool) -> list[dict[str, str]]:
        shown = []
        for name in SHOWN_ATTRIBUTES:
            if name not in element.attributes:
                continue
            value = element.attributes[name]
            text = value if isinstance(value, str) else str(value).lower() if isinstance(value, bool) else str(value)
            if name == "value" and secret and self.redact and text:
                text = _mask_value(text)
            elif name in ("href", "src"):
                text = self._url(text, ATTRIBUTE_LIMIT) or ""
            else:
                text = self._text(text, ATTRIBUTE_LIMIT) or ""
            shown.append({"name": name, "value": text})
        return shown

    # -- console -------------------------------------------------------------------------------

    def _card_console(self, line: ConsoleLine) -> dict[str, Any]:
        return {
            "href": f"console-{line.line_no}",
            "line": line.line_no,
            "level": self._text(line.level, 20),
            "message": self._text(line.message, 1000),
        }

    def _console_rows(self) -> list[dict[str, Any]]:
        t = self.t
        owners: dict[int, ActionView] = {}
        steps_of: dict[int, StepView] = {}
        for step_view in t.steps:
            for line in step_view.console:
                steps_of.setdefault(id(line), step_view)
            for view in step_view.actions:
                for line in view.console:
                    owners.setdefault(id(line), view)
        rows = []
        for line in t.run.console:
            owner = owners.get(id(line))
            step_view = steps_of.get(id(line))
            if t.focus is not None and step_view is None:
                continue
            anchor = f"console-{line.line_no}"
            if anchor in self.anchors:  # two events on one line: link to the first
                anchor = f"console-{line.line_no}-{len(rows)}"
            self.anchors.add(anchor)
            target = label = None
            if owner is not None:
                target = anchor_id("a", owner.step.step_id, owner.action.index)
                label = f"{owner.step.label} #{owner.action.index} {owner.action.action_type}"
            elif step_view is not None:
                target = anchor_id("s", step_view.step.step_id)
                label = f"step {step_view.step.label}"
            rows.append(
                {
                    "anchor": anchor,
                    "line": line.line_no,
                    "level": self._text(line.level, 20),
                    "is_error": line.level == "error",
                    "message": self._text(line.message),
                    "started": self._when(line.timestamp),
                    "target": target,
                    "target_label": self._text(label, 200),
                    "evidence": f"console:{line.line_no}" in self.evidence_refs,
                }
            )
        return rows


# --- helpers --------------------------------------------------------------------------------------


def _where(step_id: str | None, labels: dict[str, str]) -> str:
    if not step_id:
        return "run"
    return f"step {labels[step_id]} ({step_id})" if step_id in labels else f"step {step_id}"


def _mask_value(value: str) -> str:
    """``[masked: N chars]``, unless the redaction stage already replaced the value."""
    return shown_typed(value, secret=True)


def _action_screenshot(view: ActionView) -> Screenshot | None:
    """The screenshot taken after this action: by the action's artifact id, else by position."""
    shots = view.step.screenshots_action
    wanted = view.action.screenshot_artifact_id
    if wanted:
        for shot in shots:
            if shot.artifact_id == wanted:
                return shot
    if view.post_html_index is not None and view.post_html_index < len(shots):
        return shots[view.post_html_index]
    return None


def _action_label(view: ActionView) -> str:
    action = view.action
    target = f" on {describe_element(view)}" if action.element_id else ""
    return f"step {view.step.label}, action {action.index}: {action.action_type}{target}"


def _first_time(t: Triage) -> datetime | None:
    times = [s.step.created_at for s in t.corr.steps if s.step.created_at]
    return min(times) if times else None


def _seconds(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None:
        return None
    return (end - start).total_seconds()


def _format_seconds(seconds: float | None) -> str:
    if seconds is None:
        return ""
    if seconds < 0:
        return ""
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(seconds, 60)
    return f"{int(minutes)} min {rest:.0f} s"


def _number(value: object) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return f"{value:.2f}"
