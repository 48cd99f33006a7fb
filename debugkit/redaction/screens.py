"""Which secret fields each step's screenshots may show: the rule the screenshot masks follow.

A step's screenshots (``screenshot_llm``, ``screenshot_action``, ``screenshot_final``) may show:

1. every field a secret was typed into in that step (:func:`debugkit.redaction.policy.step_typed_kind`);
2. every secret field of the step's element tree that holds a value in the scrape (``value``
   attribute; bullets alone do not count);
3. the fields secrets were typed into in earlier steps, **while the same page is shown**: the step
   belongs to the same task, its URL (scheme, host, path and query; the fragment ignored) is that of
   the step the value was typed in (a step whose URL is unknown counts as the same page), and the
   field is in the step's element tree: the same element id with the same tag and ``name``/``id``/
   ``type`` attributes, or else an element with those attributes. A step without an element tree
   keeps the field's id. Once a step shows another page, the carried fields are dropped.

A typing action without an element (nothing to place a mask on) is a field with ``element_id``
None: the step's screenshots that may show it cannot be masked, so they are left out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit

from debugkit.model import Element, RunData, StepData
from debugkit.redaction.policy import element_label, field_kind, field_value, held_value, step_typed_kind

_IDENTITY_ATTRIBUTES = ("name", "id", "type")


@dataclass(frozen=True)
class SecretField:
    """A field whose value a screenshot of the step may show."""

    element_id: str | None  # in this step's tree / scrape; None: no element to mask
    kind: str  # password | otp | card | secret
    why: str  # "typed in this step" | "holds a value" | "typed in step 0.0"
    frame_chain: tuple[str, ...] = ()  # iframe ids, outermost first


@dataclass
class _Carried:
    identity: tuple[str | None, ...]
    element_id: str
    kind: str
    why: str
    frame_chain: tuple[str, ...] = field(default_factory=tuple)


def page_key(url: str | None) -> tuple[str, str, str, str] | None:
    """What makes two URLs the same page: scheme, host, path and query (not the fragment)."""
    if not url:
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return ("", "", url, "")
    return (parts.scheme.lower(), parts.netloc.lower(), parts.path or "/", parts.query)


def identity(element: Element) -> tuple[str | None, ...]:
    values = [element.attributes.get(name) for name in _IDENTITY_ATTRIBUTES]
    return (element.tag, *(str(v) if v is not None else None for v in values))


def secret_fields(run: RunData) -> dict[str, list[SecretField]]:
    """step_id -> the secret fields its screenshots may show (steps with none are left out)."""
    out: dict[str, list[SecretField]] = {}
    carried: list[_Carried] = []
    previous: tuple[str | None, tuple[str, str, str, str] | None] | None = None
    for step in run.steps:
        key = page_key(step.website_url)
        if previous is not None and (step.task_id != previous[0] or (key and previous[1] and key != previous[1])):
            carried = []
        previous = (step.task_id, key or (previous[1] if previous else None))
        fields, carried = _step_fields(step, carried)
        if fields:
            out[step.step_id] = fields
    return out


def _step_fields(step: StepData, carried: list[_Carried]) -> tuple[list[SecretField], list[_Carried]]:
    fields: dict[str | None, SecretField] = {}
    still: list[_Carried] = []
    for item in carried:
        element_id = _find(step, item)
        if element_id is None:
            continue  # not on this page any more
        fields.setdefault(element_id, SecretField(element_id, item.kind, item.why, item.frame_chain))
        still.append(_Carried(item.identity, element_id, item.kind, item.why, item.frame_chain))
    elements = step.elements or {}
    for action in step.actions:
        kind = step_typed_kind(step, action)
        if kind is None:
            continue
        element_id = action.element_id
        if element_id and step.elements is not None and element_id not in elements and not _in_scrape(step, element_id):
            continue  # an id that is on no page: nothing was typed anywhere
        element = elements.get(element_id) if element_id else None
        chain = tuple(element.frame_chain) if element is not None else ()
        fields[element_id] = SecretField(element_id, kind, "typed in this step", chain)
        if element_id:
            ident = identity(element) if element is not None else (None, None, None, None)
            why = f"typed in step {step.label}"
            still.append(_Carried(ident, element_id, kind, why, chain))
    for element_id, element in elements.items():
        if element_id in fields or held_value(element) is None:
            continue
        label = element_label(step, element)
        if field_value(element, label) is not None:
            kind = field_kind(element, label) or "secret"
            fields[element_id] = SecretField(element_id, kind, "holds a value", tuple(element.frame_chain))
    return list(fields.values()), _unique(still)


def _find(step: StepData, item: _Carried) -> str | None:
    """The carried field's id in this step: the same id and identity, else the same identity."""
    if step.elements is None:
        return item.element_id
    element = step.elements.get(item.element_id)
    if element is not None and (identity(element) == item.identity or item.identity[0] is None):
        return item.element_id
    if all(v is None for v in item.identity[1:]):
        return None  # nothing to recognise it by
    for element_id, other in step.elements.items():
        if identity(other) == item.identity:
            return element_id
    return None


def _in_scrape(step: StepData, element_id: str) -> bool:
    if step.scrape_ids is not None and element_id in step.scrape_ids:
        return True
    return step.html_scrape is not None and step.html_scrape.has(element_id)


def _unique(items: list[_Carried]) -> list[_Carried]:
    seen: set[str] = set()
    out = []
    for item in items:
        if item.element_id not in seen:
            seen.add(item.element_id)
            out.append(item)
    return out
