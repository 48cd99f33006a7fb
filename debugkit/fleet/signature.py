"""A run's failure signature: what its failure looks like, the same for every run with the same problem.

Within one cause, runs are grouped by this line:

- element causes (``element_missing``, ``element_disabled``, ``element_not_actionable``,
  ``click_intercepted``, ``agent_loop``): the element the decisive action targeted, by role (or
  tag) and label (or text), clipped and whitespace folded: ``button 'Place order'``; else the
  failing action's exception type; else the rule;
- every other cause: the failing request, ``POST shop.example/api/orders/{id}/pay -> 500``: the
  first ``request`` link of ``verdict.chain`` (its ref is ``har:<index>``), else the first request
  of ``verdict.evidence``; method, host and the path as a template (ids, numbers, UUIDs, hex and
  long tokens folded to ``{id}``, the query dropped), then the status or the browser's error;
  else the failing action's exception type; else the rule.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from debugkit.analysis.correlate import ActionView
from debugkit.analysis.describe import TAG_NAMES
from debugkit.analysis.triage import Triage
from debugkit.model import NetworkEntry
from debugkit.text import clip

ELEMENT_CAUSES = frozenset(
    {"element_missing", "element_disabled", "element_not_actionable", "click_intercepted", "agent_loop"}
)
NAME_LIMIT = 40
ERROR_LIMIT = 60
_UUID = re.compile(r"^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$", re.IGNORECASE)
_HEX = re.compile(r"^[0-9a-f]{8,}$", re.IGNORECASE)
_TOKEN = re.compile(r"^[A-Za-z0-9_~=+.-]{16,}$")
_PREFIXED_ID = re.compile(r"^[A-Za-z]{1,12}[_-][A-Za-z0-9]*\d[A-Za-z0-9]*$")  # ord_8812, cus-4Ab9, tsk_602...
_EXTENSION = re.compile(r"^(?P<stem>.+?)(?P<ext>\.[A-Za-z][A-Za-z0-9]{0,5})$")
_HAR_REF = re.compile(r"^har:(\d+)$")
ID = "{id}"


def signature_of(t: Triage) -> str:
    verdict = t.diagnosis.verdict
    view = t.diagnosis.decisive or t.diagnosis.failing.view
    if verdict.cause in ELEMENT_CAUSES:
        found = element_signature(view)
    else:
        entry = failing_request(t)
        found = request_signature(entry) if entry is not None else None
    return found or exception_type(t) or verdict.rule


def failing_request(t: Triage) -> NetworkEntry | None:
    """The request the verdict names: the first request link of the chain, else the first request evidence."""
    verdict = t.diagnosis.verdict
    by_index = {entry.index: entry for entry in t.run.network}
    for items in (verdict.chain, verdict.evidence):
        for item in items:
            match = _HAR_REF.match(item.ref) if item.kind == "request" else None
            if match and int(match.group(1)) in by_index:
                return by_index[int(match.group(1))]
    return None


def request_signature(entry: NetworkEntry) -> str:
    try:
        parts = urlsplit(entry.url)
        host = (parts.hostname or "").lower()
        if parts.port is not None:
            host = f"{host}:{parts.port}"
    except ValueError:  # a broken IPv6 host or port ("http://a:99999/"): the URL's text stands for the target
        parts, host = urlsplit(""), ""
    outcome = str(entry.status) if entry.status else clip(entry.error or "no answer", ERROR_LIMIT)
    target = f"{host}{path_template(parts.path)}" if host else clip(entry.url.split("?", 1)[0], 80)
    return f"{entry.method.upper()} {target} -> {outcome}"


def element_signature(view: ActionView | None) -> str | None:
    join = view.element if view is not None else None
    element = join.element if join is not None else None
    if element is None:
        return None
    attributes = element.attributes
    role = attributes.get("role") if isinstance(attributes.get("role"), str) else None
    kind = role or TAG_NAMES.get(element.tag or "", element.tag or "element")
    name = join.label or element.text or attributes.get("aria-label") or attributes.get("placeholder")
    name = name or attributes.get("name")
    name = clip(str(name), NAME_LIMIT) if name else ""
    return f"{clip(str(kind), 20)} '{name}'" if name else clip(str(kind), 20)


def exception_type(t: Triage) -> str | None:
    for view in (t.diagnosis.failing.view, t.diagnosis.decisive):
        result = view.action.result if view is not None else None
        if result is not None and result.exception_type:
            return clip(result.exception_type, 60)
    return None


def path_template(path: str) -> str:
    """``/api/orders/8812/pay`` -> ``/api/orders/{id}/pay``: every segment that is an id folded."""
    if not path:
        return "/"
    return "/".join(_fold(segment) for segment in path.split("/"))


def _fold(segment: str) -> str:
    if not segment:
        return segment
    match = _EXTENSION.match(segment)
    if match and _is_id(match.group("stem")):
        return ID + match.group("ext")
    return ID if _is_id(segment) else segment


def _is_id(segment: str) -> bool:
    digits = sum(ch.isdigit() for ch in segment)
    if segment.isdigit() or _UUID.match(segment):
        return True
    if digits == 0:
        return False
    if _HEX.match(segment) or digits >= 4:
        return True
    # ord_12, cus-4b9, a long token with digits; not api_v2, step-2, checkout-step-2-confirmation
    return digits >= 2 and bool(_PREFIXED_ID.match(segment) or _TOKEN.match(segment))
