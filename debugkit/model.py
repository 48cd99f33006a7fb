"""The data model every stage shares: what sources hand over, what parsers produce.

Sources (``debugkit.sources``) produce a :class:`RawRun`: the API-shaped JSON documents and a
list of :class:`ArtifactRef` whose bytes are read lazily. ``debugkit.load`` parses those into a
:class:`RunData`. Analysis (``debugkit.analysis``) reads only :class:`RunData`.

Every damaged, missing or refused piece becomes a :class:`Problem`; nothing raises past the
stage that met it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from debugkit.parsers.html import HtmlSnapshot


class ArtifactUnavailable(Exception):
    """An artifact's bytes cannot be had; the message says why (one line, no secrets)."""

    def __init__(self, reason: str, kind: str = "missing") -> None:
        super().__init__(reason)
        self.reason = reason
        self.kind = kind  # "missing" | "damaged" | "refused" | "archived"


@dataclass
class Problem:
    """A piece of a readable run that could not be used, named in every output."""

    kind: str  # "missing" | "damaged" | "refused" | "archived" | "skipped"
    detail: str
    artifact_type: str | None = None
    step_id: str | None = None
    artifact_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "artifact_type": self.artifact_type,
            "step_id": self.step_id,
            "artifact_id": self.artifact_id,
            "detail": self.detail,
        }


@dataclass
class ArtifactRef:
    """One artifact as a source knows it; ``read()`` returns its bytes or raises ArtifactUnavailable."""

    artifact_type: str
    name: str  # file or ZIP member name, for messages
    read: Callable[[], bytes]
    artifact_id: str | None = None
    step_id: str | None = None
    task_id: str | None = None
    bundle_key: str | None = None
    index: int | None = None  # call/screenshot index from a bundle key such as screenshot_llm_2.png
    created_at: datetime | None = None  # row time, or the time in a storage file name
    archived: bool = False
    # Its size in bytes, when the source knows it without reading (a ZIP member's header, a file's stat):
    # ``known_size()`` lets a caller leave out what is too big before reading it.
    size: Callable[[], int | None] | None = field(default=None, repr=False, compare=False)

    def known_size(self) -> int | None:
        """The size the source gives without reading, or None (unknown, or the source could not say)."""
        try:
            return self.size() if self.size is not None else None
        except Exception:  # a hint only: never a reason to fail
            return None

    def sort_key(self) -> tuple[Any, ...]:
        """Order within a step: bundle index first, then time, then the id's embedded counter."""
        idx = self.index if self.index is not None else -1
        ts = self.created_at.timestamp() if self.created_at else 0.0
        num = 0
        if self.artifact_id and self.artifact_id.startswith("a_"):
            try:
                num = int(self.artifact_id[2:])
            except ValueError:
                num = 0
        return (idx, ts, num, self.name)


@dataclass
class RawRun:
    """What a source could read, before any artifact content is interpreted."""

    source: str  # what was opened, for messages
    kind: str  # "run_folder" | "local_storage" | "archive"
    run: dict[str, Any] | None = None  # GET /v1/runs/{id}
    tasks: list[dict[str, Any]] = field(default_factory=list)  # GET /api/v1/tasks/{id} bodies
    steps: list[dict[str, Any]] = field(default_factory=list)  # step dicts (API shape)
    steps_from_api: bool = False  # False: steps were derived from folder names, no status/output
    actions: list[dict[str, Any]] | None = None  # GET /api/v1/tasks/{id}/actions rows, if any
    artifacts: list[ArtifactRef] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


# --- parsed artifacts -------------------------------------------------------------------------


@dataclass
class Element:
    """One element of a step's scrape (``visible_elements_tree``) or of ``skyvern_element_data``."""

    element_id: str
    tag: str | None = None
    text: str | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    frame: str | None = None  # "main.frame" or the id of the containing <iframe>
    frame_index: int | None = None
    frame_chain: list[str] = field(default_factory=list)  # iframe ids, outermost first; [] = main frame
    interactable: bool | None = None
    xpath: str | None = None
    page_url: str | None = None
    raw: dict[str, Any] | None = field(default=None, repr=False)  # the node dict without children


@dataclass
class HtmlNode:
    """The element's node in ``html_scrape``."""

    outer_html: str  # trimmed
    label: str | None = None
    present_after_action: bool | None = None  # still in the html_action taken after the action


@dataclass
class ActionResult:
    success: bool
    exception_type: str | None = None
    exception_message: str | None = None
    stop_execution_on_failure: bool | None = None
    interacted_with_parent: bool = False  # a fallback: Skyvern clicked the element's parent instead
    interacted_with_sibling: bool = False  # ... or a sibling


@dataclass
class Action:
    """One action the model chose in a step, with what is known of how it ran."""

    step_id: str
    index: int  # action_order within the step
    action_type: str  # lower case, as persisted ("click", "input_text", ...)
    element_id: str | None = None
    reasoning: str | None = None
    confidence: float | None = None
    text: str | None = None  # typed text (input_text / paste_text)
    text_length: int | None = None  # the typed text's length, kept when redaction replaces the text
    status: str | None = None  # pending|skipped|failed|completed, when known
    action_id: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    element_data: dict[str, Any] | None = None  # skyvern_element_data when it describes an element
    page_url: str | None = None
    screenshot_artifact_id: str | None = None
    x: float | None = None  # computer-use actions: the click point in viewport pixels
    y: float | None = None
    results: list[ActionResult] | None = None  # None: results unknown (no step output)
    executed: bool | None = None  # None: unknown
    source: str = "llm_response"  # "step_output" | "actions_table" | "llm_response"

    @property
    def result(self) -> ActionResult | None:
        """The deciding result: the last one."""
        return self.results[-1] if self.results else None


@dataclass
class NetworkEntry:
    """One HAR entry, normalised across the failure dialects."""

    index: int  # position in the HAR
    url: str
    method: str
    status: int | None  # None when the HAR has no usable status (pending, -1, 0)
    started_at: datetime | None  # aware UTC
    time_ms: float | None  # None when pending (time -1)
    failed: bool  # failure text, pending, status <= 0 or >= 400
    error: str | None = None  # _failureText / _error / "pending" / "HTTP 500"
    pending: bool = False
    noise: bool = False  # e.g. net::ERR_ABORTED of a superseded navigation
    noise_reason: str | None = None  # why a failure is noise, in words
    resource_type: str | None = None  # Playwright/Chrome _resourceType when present
    is_document: bool = False
    raw: dict[str, Any] = field(default_factory=dict, repr=False)


@dataclass
class ConsoleLine:
    timestamp: datetime | None
    level: str
    message: str
    url: str | None = None
    line_no: int = 0  # 1-based line in the log where the event starts


@dataclass
class Screenshot:
    artifact_type: str
    name: str
    artifact_id: str | None = None
    index: int | None = None
    width: int | None = None
    height: int | None = None
    size_bytes: int = 0
    error: str | None = None  # set when the image is corrupt
    data: bytes | None = field(default=None, repr=False)
    llm_call: int | None = None  # screenshot_llm: which LLM call of the step it was taken for (0, 1, ...)


@dataclass
class StepData:
    step_id: str
    task_id: str | None
    order: int
    retry_index: int
    status: str | None = None
    created_at: datetime | None = None
    modified_at: datetime | None = None
    is_last: bool | None = None
    times_estimated: bool = False  # created/modified taken from artifact file times (no step list)
    has_output: bool = False
    website_url: str | None = None
    step_exception: str | None = None
    actions: list[Action] = field(default_factory=list)
    elements: dict[str, Element] | None = None  # None: no readable tree for this step
    scrape_ids: set[str] | None = None  # ids in the css map: every element of the scrape
    html_scrape: HtmlSnapshot | None = None
    html_actions: list[HtmlSnapshot | None] = field(default_factory=list)  # in post-action order
    llm_calls: int = 0  # parsed LLM responses read for this step
    llm_prompts: int = 0  # llm_prompt artifacts listed (one per LLM call asked)
    llm_responses: int = 0  # llm_response artifacts listed (one per call answered)
    llm_unusable: list[str] = field(default_factory=list)  # answers that were not valid JSON (their start)
    actions_call: int | None = None  # the LLM call whose actions the step ran (its screenshot_llm set)
    screenshots_llm: list[Screenshot] = field(default_factory=list)
    screenshots_action: list[Screenshot] = field(default_factory=list)
    screenshot_final: Screenshot | None = None

    @property
    def label(self) -> str:
        return f"{self.order}.{self.retry_index}"


@dataclass
class RunData:
    """A parsed run: the input of the analysis."""

    source: str
    source_kind: str
    run_id: str | None = None
    run_type: str | None = None
    status: str | None = None
    failure_reason: str | None = None
    skyvern_categories: list[dict[str, Any]] = field(default_factory=list)  # failure_category rows
    extraction_goal: str | None = None  # data_extraction_goal / data_extraction_schema, when one was set
    extracted: Any = None  # the run's output / extracted_information
    errors: list[dict[str, Any]] = field(default_factory=list)
    created_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    step_count: int | None = None
    steps: list[StepData] = field(default_factory=list)
    steps_from_api: bool = False
    network: list[NetworkEntry] = field(default_factory=list)
    network_loaded: bool = False
    console: list[ConsoleLine] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    # The secret values of the HAR (headers, cookies, query and form values, JWTs) as (value, kind), found
    # while it was parsed (debugkit.redaction.collect.HarSecrets): redaction needs no second read. None when
    # not collected (then redaction reads the HAR again). Never shown: the redacted copy holds none.
    har_secrets: list[tuple[str, str]] | None = field(default=None, repr=False)
