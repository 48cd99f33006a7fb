"""Read a HAR (as Playwright writes it for Skyvern, or as Chrome exports it) into NetworkEntry rows.

What this module guarantees:

* :func:`parse_har` never raises on any input: damage becomes a line in ``HarParse.problems``.
* A truncated or damaged HAR still yields every complete entry before the damage.
* The failure dialects are folded into one shape: Playwright ``status -1`` + ``_failureText``,
  Chrome ``status 0`` + ``_error``, unfinished ``time -1``, and HTTP ``>= 400``.

The standard fields are read straight from the entry dicts, with the semantics of haralyzer's entry
model (:class:`haralyzer.assets.HarEntry`: ``request.url`` and ``.method``, ``response.status`` and
``.statusText``, a missing one being a ``KeyError``) but without building one object and a dozen
cached properties per entry, which cost a third of the parse on a 30,000-entry HAR. haralyzer's
pitfalls are stepped around on purpose, each with a test in ``tests/test_har.py``:

(a) ``HarParser.pages`` / ``HarPage`` rebuild every page and entry on each access: not used.
(b) ``HarEntry.startTime`` uses dateutil (slow, and page sorting crashes when naive and aware times
    mix): ``startedDateTime`` goes through :func:`debugkit.timeutil.parse_time` instead.
(c) the status filters match regexes over the status text (``"4"`` matches 304): not used.
(d) properties raise ``KeyError`` on optional fields (``response.text`` with bodies omitted,
    ``pageref``, ``serverAddress``, ``port``): optional and vendor (``_``) fields are read from the
    raw dict.

Memory: by default no entry dict outlives the parse. ``log.entries`` is parsed about a megabyte at
a time, every field triage needs is copied into the :class:`NetworkEntry` (``raw`` stays empty),
and the slice's dicts are dropped before the next slice is parsed. So the peak is about the input
bytes, one slice and the compact rows. ``keep_raw=True`` keeps each entry dict in ``raw`` instead,
for code that needs headers and the like; those dicts alone take about four times the file size.
Code that needs something of every entry (redaction collects the secret values of its headers,
cookies, queries and forms) passes ``visit``, which sees each entry dict while it exists: one pass
over the HAR, no dict kept.
"""

from __future__ import annotations

import gc
import json
import math
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from typing import Any, Protocol

import orjson

from debugkit import allocator, forked
from debugkit.model import NetworkEntry
from debugkit.timeutil import parse_time

__all__ = ["HarParse", "parse_har"]

PENDING_ERROR = "pending (no response)"
_ABORTED = "ERR_ABORTED"
_BOM = b"\xef\xbb\xbf"
_ENTRIES_START = re.compile(r'"entries"\s*:\s*\[')
_ENTRIES_START_B = re.compile(rb'"entries"\s*:\s*\[')
_FIRST_KEY_B = re.compile(rb'\s*\{\s*("[A-Za-z0-9_$@-]+")\s*:')
_GAP_BEFORE_B = re.compile(rb"\}\s*,\s*\{\s*$")
_GAP_WINDOW = 256
_CHUNK_BYTES = 1 << 20
SPLIT_BYTES = 8 << 20  # a HAR this large or larger may be parsed in two processes (see parse_har's collector)
# The share of its entries' bytes parsed here (%); the child's half also pickles its rows, which are then unpickled
# and numbered here: on bench/scale.py's 30,000-request run, with halves, this process waited 0.04 s for the child.
FIRST_SHARE = 53
_WS = re.compile(r"[ \t\n\r]*")
_SHOWN_INDEXES = 5


@dataclass
class HarParse:
    """The result of :func:`parse_har`: the entries read, and one line per kind of damage met."""

    entries: list[NetworkEntry]
    problems: list[str] = field(default_factory=list)


class Collector(Protocol):
    """A ``visit`` whose findings can be carried across processes: :func:`parse_har` may parse the second half of
    a long HAR in a forked child (:mod:`debugkit.forked`), whose collector's :meth:`export` is then
    :meth:`merge`-d into this one, after this half's entries (so the order found is the HAR's).

    :meth:`text` reads the HAR's bytes themselves, ``data[start:end]`` (a half's, in its process, or the whole
    HAR's once), after the entries."""

    def entry(self, entry: dict[str, Any]) -> None: ...

    def text(self, data: bytes | bytearray, start: int = 0, end: int | None = None) -> None: ...

    def export(self) -> Any: ...

    def merge(self, state: Any) -> None: ...


def parse_har(
    data: bytes, *, keep_raw: bool = False, visit: Visit | None = None, collector: Collector | None = None
) -> HarParse:
    """Parse HAR bytes into normalised :class:`NetworkEntry` rows; never raises.

    By default ``raw`` of each entry is left empty and the entry dicts are dropped as soon as they
    are read, which keeps memory near the file size. With ``keep_raw=True``, ``raw`` is the entry
    dict itself (no copy). ``visit(entry_dict)`` is called for each entry that becomes a row, in HAR
    order, before its dict is dropped. It must not change the dict, and must not mind seeing an
    entry twice (when a slice boundary proves misleading, the whole HAR is read again); what it
    raises is counted in a problem line, and the rows (and the other visits) are still made. Entries that
    cannot be used are skipped, and fields of the wrong type are defaulted; both are counted in
    ``problems``.

    ``collector`` is a ``visit`` (its :meth:`~Collector.entry`) that may see the entries in two processes: a HAR of
    :data:`SPLIT_BYTES` or more, read without ``keep_raw`` or a plain ``visit``, is then parsed half here and half
    in a forked child where :func:`debugkit.forked.available` (the CLI on 2 CPUs or more): the same rows, problems
    and findings, in about half the time.
    """
    problems: list[str] = []
    if collector is not None:
        if visit is not None:
            raise ValueError("parse_har takes visit or collector, not both")
        visit = collector.entry
    try:
        with _gc_paused():
            rows = _read(data, problems, keep_raw, visit, collector)
            if collector is not None and not (rows is not None and rows.text_read):
                collector.text(_as_bytes(data))
            if rows is None:
                return HarParse([], problems)
            problems.extend(rows.tally.lines())
            _mark_superseded_navigations(rows.documents)
            _mark_superseded_requests(rows.entries)
    except Exception as exc:  # last resort: the contract is "never raises"
        return HarParse([], [*problems, f"HAR could not be read: {type(exc).__name__}: {exc}"])
    if rows.visit_errors:
        noun = "entry" if rows.visit_errors == 1 else "entries"
        problems.append(f"{rows.visit_errors} HAR {noun} could not be examined ({rows.visit_error})")
    return HarParse(rows.entries, problems)


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic GC while building the (acyclic) entry tree: it only rescans live objects. In the CLI's process
    (:func:`debugkit.allocator.keep_parsed`) what was built is then kept out of its sweeps before it runs again: the
    rows live until the command ends, and the first collection after the pause would otherwise go through the
    million objects made meanwhile (with the next full one, about 30 ms on a 30,000-request run)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            allocator.keep_parsed()
            gc.enable()


# --- loading ------------------------------------------------------------------------------------


def _read(
    data: bytes | bytearray | memoryview | str,
    problems: list[str],
    keep_raw: bool,
    visit: Visit | None,
    collector: Collector | None = None,
) -> _Rows | None:
    """Read and normalise ``log.entries`` (possibly recovered from damaged JSON); None with a problem."""
    if len(data) == 0:
        problems.append("HAR is empty")
        return None
    data = _as_bytes(data)
    if data[:3] == _BOM:
        data = data[3:]
    rows = _load_in_chunks(data, keep_raw, visit, collector)
    if rows is not None:
        return rows
    raw_entries = _load_whole(data, problems)
    if raw_entries is None:
        return None
    rows = _Rows(keep_raw, visit)
    _normalise_all(raw_entries, rows)
    return rows


def _as_bytes(data: bytes | bytearray | memoryview | str) -> bytes | bytearray:
    if isinstance(data, str):
        return data.encode("utf-8", errors="surrogatepass")
    return bytes(data) if isinstance(data, memoryview) else data


def _load_whole(data: bytes | bytearray, problems: list[str]) -> list[Any] | None:
    """Return ``log.entries`` of the whole document, or None with a problem."""
    try:
        doc = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        return _recover(data, str(exc), problems)
    return _entries_of(doc, problems)


def _load_in_chunks(
    data: bytes | bytearray, keep_raw: bool, visit: Visit | None, collector: Collector | None = None
) -> _Rows | None:
    """Parse and normalise ``log.entries`` about a megabyte at a time; None when this does not apply.

    One ``orjson.loads`` of a whole HAR holds the parser's own document (several times the file)
    next to the Python objects; parsing the entries array in slices keeps only one slice's worth,
    and unless ``keep_raw`` each slice's dicts are dropped once its rows are made.
    The document around the array is checked by parsing it with a placeholder in the array, and
    every slice must parse as a list of complete values, so a slice boundary can only fall between
    two entries; if anything does not parse, the caller parses the whole document instead (and the
    rows made so far are thrown away, so every entry is counted once; ``visit`` then sees those
    entries again).
    """
    span = _entries_span(data)
    if span is None:
        return None
    start, closing, marker = span
    if not keep_raw and (visit is None or collector is not None) and len(data) >= SPLIT_BYTES and forked.available():
        middle = _next_boundary(data, start + (closing - start) * FIRST_SHARE // 100, closing, marker)
        if middle is not None:
            return _load_halves(data, (start, middle, closing), marker, visit, collector)
    rows = _Rows(keep_raw, visit)
    try:
        for chunk in _slices(data, start, closing, marker):
            if keep_raw:
                _share_header_strings(chunk, rows.shared)
            _normalise_all(chunk, rows)
            del chunk  # unless kept in ``raw``, the slice's dicts go before the next slice is parsed
    except orjson.JSONDecodeError:
        return None
    return rows


def _load_halves(
    data: bytes | bytearray,
    cuts: tuple[int, int, int],
    marker: bytes | None,
    visit: Visit | None,
    collector: Collector | None,
) -> _Rows | None:
    """:func:`_load_in_chunks` with the entries before ``middle`` parsed here and the rest in a forked child.

    The child sends its rows as tuples, with its damage counts, its documents' frame keys and what its copy of
    ``collector`` found; they are numbered on after this half's. Either half failing to parse means the whole
    document is read instead (None), as one process would."""
    start, middle, closing = cuts

    def first() -> _Rows | None:
        rows = _Rows(False, visit)
        try:
            for chunk in _slices(data, start, middle, marker):
                _normalise_all(chunk, rows)
        except orjson.JSONDecodeError:
            return None
        if collector is not None:
            collector.text(data, 0, middle)
        return rows

    def second() -> _Half | None:
        rows = _Rows(False, visit)
        try:
            for chunk in _slices(data, middle + 1, closing, marker):
                _normalise_all(chunk, rows)
        except orjson.JSONDecodeError:
            return None
        if collector is not None:
            collector.text(data, middle)
        return _Half.of(rows, collector)

    mine, theirs = forked.both(first, second)
    if mine is None or theirs is None:
        return None
    theirs.join(mine, collector)
    mine.text_read = True  # both halves' text: parse_har reads it no second time
    return mine


_ROW_FIELDS = tuple(f.name for f in fields(NetworkEntry) if f.name != "raw")  # NetworkEntry's order


@dataclass
class _Half:
    """The second half's rows as a forked child sends them (tuples: a third cheaper to pickle than dataclasses)."""

    rows: list[tuple[Any, ...]]
    count: int
    tally: dict[str, list[int]]
    documents: list[tuple[int, _FrameKey]]  # (position in ``rows``, page/frame key)
    visit_errors: int
    visit_error: str | None
    found: Any  # the collector's export()

    @classmethod
    def of(cls, rows: _Rows, collector: Collector | None) -> _Half:
        position = {id(entry): i for i, entry in enumerate(rows.entries)} if rows.documents else {}
        return cls(
            rows=[tuple(entry.__dict__[name] for name in _ROW_FIELDS) for entry in rows.entries],
            count=rows.count,
            tally=rows.tally.by_reason,
            documents=[(position[id(entry)], key) for entry, key in rows.documents],
            visit_errors=rows.visit_errors,
            visit_error=rows.visit_error,
            found=collector.export() if collector is not None else None,
        )

    def join(self, rows: _Rows, collector: Collector | None) -> None:
        """Append these rows to ``rows`` (the first half's), numbered after them."""
        offset = rows.count
        made = [NetworkEntry(*values) for values in self.rows]
        for entry in made:
            entry.index += offset
        rows.entries.extend(made)
        rows.documents.extend((made[i], key) for i, key in self.documents)
        for reason, indexes in self.tally.items():
            rows.tally.by_reason.setdefault(reason, []).extend(i + offset for i in indexes)
        rows.count += self.count
        rows.visit_errors += self.visit_errors
        rows.visit_error = rows.visit_error or self.visit_error
        if collector is not None and self.found is not None:
            collector.merge(self.found)


def _entries_span(data: bytes | bytearray) -> tuple[int, int, bytes | None] | None:
    """Where ``log.entries``' items lie: ``(start, closing, first key)``, after checking that the document around the
    array parses with ``[0]`` in its place; None when the array cannot be found this way."""
    found = _entries_skeleton(data)
    return None if found is None else found[1]


def _entries_skeleton(data: bytes | bytearray) -> tuple[dict[str, Any], tuple[int, int, bytes | None]] | None:
    opening = _ENTRIES_START_B.search(data)
    closing = data.rfind(b"]")
    if opening is None or closing < opening.end():
        return None
    start = opening.end()
    try:
        skeleton = orjson.loads(b"".join((data[:start], b"0", data[closing:])))
    except orjson.JSONDecodeError:
        return None
    log = skeleton.get("log") if isinstance(skeleton, dict) else None
    if not isinstance(log, dict) or log.get("entries") != [0]:
        return None  # the array found is not log.entries
    return skeleton, (start, closing, _first_key(data, start, closing))


def entry_slices(data: bytes | bytearray) -> tuple[dict[str, Any], Iterator[list[Any]]] | None:
    """The HAR's document with ``log.entries`` replaced by ``[0]``, and its entries about a megabyte at a
    time; None when the array cannot be found this way.

    A slice that does not parse raises ``orjson.JSONDecodeError``: the caller then reads the whole
    document instead. (Used by :func:`parse_har` and by the bundle, which redacts a HAR a slice at a time.)
    """
    found = _entries_skeleton(data)
    if found is None:
        return None
    skeleton, (start, closing, marker) = found
    return skeleton, _slices(data, start, closing, marker)


def _slices(data: bytes | bytearray, start: int, closing: int, marker: bytes | None) -> Iterator[list[Any]]:
    while start < closing:
        cut = _next_boundary(data, start + _CHUNK_BYTES, closing, marker)
        end = closing if cut is None else cut
        yield orjson.loads(b"".join((b"[", data[start:end], b"]")))
        start = end + 1


def _share_header_strings(entries: list[Any], shared: dict[str, str]) -> None:
    """Make equal header names and values one string object (in place; values are unchanged).

    Headers are most of a HAR and repeat endlessly (User-Agent, Accept, ...), while the parser
    makes a new string for every occurrence: sharing them cuts the entries' memory by about a fifth.
    """
    share = shared.setdefault
    for entry in entries:
        if type(entry) is not dict:
            continue
        for part in (entry.get("request"), entry.get("response")):
            headers = part.get("headers") if type(part) is dict else None
            if type(headers) is not list:
                continue
            for header in headers:
                if type(header) is dict:
                    name, value = header.get("name"), header.get("value")
                    if type(name) is str:
                        header["name"] = share(name, name)
                    if type(value) is str:
                        header["value"] = share(value, value)


def _first_key(data: bytes | bytearray, start: int, stop: int) -> bytes | None:
    """The quoted first key of the array's first object (``b'"startedDateTime"'``), if plain."""
    found = _FIRST_KEY_B.match(data, start, stop)
    return found.group(1) if found else None


def _next_boundary(data: bytes | bytearray, pos: int, stop: int, marker: bytes | None) -> int | None:
    """Offset of a ``,`` in ``}, {"<marker>"`` at or after ``pos``: a likely gap between entries."""
    if marker is None:
        return None
    while pos < stop:
        found = data.find(marker, pos, stop)
        if found < 0:
            return None
        gap = _GAP_BEFORE_B.search(data, max(found - _GAP_WINDOW, 0), found)
        if gap is not None and gap.end() == found:
            return gap.start() + gap.group(0).index(b",")
        pos = found + 1
    return None


def _entries_of(doc: Any, problems: list[str]) -> list[Any] | None:
    """``doc["log"]["entries"]`` when the document is a HAR; else None with a problem."""
    log = doc.get("log") if isinstance(doc, dict) else None
    if not isinstance(log, dict):
        problems.append("not a HAR: the JSON has no 'log' object")
        return None
    entries = log.get("entries")
    if not isinstance(entries, list):
        problems.append("not a HAR: 'log' has no 'entries' list")
        return None
    return entries


def _recover(data: bytes | bytearray | memoryview | str, reason: str, problems: list[str]) -> list[Any] | None:
    """Read what can be read of a HAR that strict JSON parsing refused."""
    text, lossy = _as_text(data)
    if not text.strip():
        problems.append("HAR is empty")
        return None
    try:
        doc = json.loads(text)
    except (ValueError, RecursionError):
        pass
    else:  # valid once leniently decoded: bad UTF-8, NaN, huge numbers
        what = "has bytes that are not UTF-8 (replaced)" if lossy else "is not strict JSON"
        problems.append(f"HAR {what}; it was read leniently")
        return _entries_of(doc, problems)
    start = _ENTRIES_START.search(text)
    if start is None:
        problems.append(f"HAR is not valid JSON ({_one_line(reason)}) and has no readable entries")
        return None
    entries, state, pos = _scan_array(text, start.end())
    problems.append(_damage_message(state, len(entries), pos, reason))
    return entries


def _as_text(data: bytes | bytearray | memoryview | str) -> tuple[str, bool]:
    """Decode to str; the flag says whether undecodable bytes were replaced."""
    if isinstance(data, str):
        return data, False
    raw = bytes(data)
    try:
        return raw.decode("utf-8"), False
    except UnicodeDecodeError:
        return raw.decode("utf-8", errors="replace"), True


def _scan_array(text: str, pos: int) -> tuple[list[Any], str, int]:
    """Decode the values of a JSON array one by one from ``pos`` (just after ``[``).

    Returns ``(values, state, position)`` where state is ``"closed"`` (``]`` reached),
    ``"truncated"`` (the text ended inside the array) or ``"damaged"`` (invalid JSON at position).
    """
    decoder = json.JSONDecoder()
    values: list[Any] = []
    end = len(text)
    while True:
        pos = _WS.match(text, pos).end()
        if pos >= end:
            return values, "truncated", pos
        if text[pos] == "]":
            return values, "closed", pos
        try:
            value, pos = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            cut = exc.pos >= len(text.rstrip()) or exc.msg.startswith("Unterminated string")
            return values, "truncated" if cut else "damaged", exc.pos
        except RecursionError:
            return values, "damaged", pos
        values.append(value)
        pos = _WS.match(text, pos).end()
        if pos < end and text[pos] == ",":
            pos += 1
        elif pos < end and text[pos] != "]":
            return values, "damaged", pos


def _damage_message(state: str, count: int, pos: int, reason: str) -> str:
    """One line naming how the HAR is damaged and how much of it was read."""
    noun = "entry" if count == 1 else "entries"
    if state == "truncated":
        return f"HAR is truncated: read {count} complete {noun}, the rest is cut off"
    if state == "closed":
        return f"HAR is truncated or damaged after its entries ({_one_line(reason)}): read all {count} {noun}"
    return f"HAR is damaged at character {pos}: read {count} complete {noun} before it, the rest is unreadable"


def _one_line(text: str, limit: int = 120) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


# --- normalising --------------------------------------------------------------------------------


class _Tally:
    """Counts per-entry damage by reason, so 30,000 bad entries make one line, not 30,000."""

    def __init__(self) -> None:
        self.by_reason: dict[str, list[int]] = {}

    def add(self, reason: str, index: int) -> None:
        self.by_reason.setdefault(reason, []).append(index)

    def lines(self) -> list[str]:
        out = []
        for reason, indexes in self.by_reason.items():
            shown = ", ".join(f"#{i}" for i in indexes[:_SHOWN_INDEXES])
            more = ", …" if len(indexes) > _SHOWN_INDEXES else ""
            noun = "entry" if len(indexes) == 1 else "entries"
            out.append(f"{len(indexes)} HAR {noun} {reason} ({shown}{more})")
        return out


_FrameKey = tuple[str | None, str | None]


Visit = Callable[[dict[str, Any]], None]


class _Rows:
    """The rows made so far, the damage met, and what the noise pass needs of each document."""

    def __init__(self, keep_raw: bool, visit: Visit | None = None) -> None:
        self.keep_raw = keep_raw
        self.visit = visit
        self.visit_errors = 0
        self.visit_error: str | None = None  # the first
        self.entries: list[NetworkEntry] = []
        self.documents: list[tuple[NetworkEntry, _FrameKey]] = []
        self.tally = _Tally()
        self.count = 0  # raw entries seen: the HAR index of the next one
        self.text_read = False  # a collector's text() has read the HAR's bytes (each half, in its process)
        # One string object per distinct method, error text, page id, ... (and, with keep_raw,
        # header name and value): they repeat on most entries.
        self.shared: dict[str, str] = {}


def _normalise_all(raw_entries: list[Any], rows: _Rows) -> None:
    """Append the rows of ``raw_entries`` (the next entries of the HAR, in order) to ``rows``."""
    index = rows.count
    add = rows.entries.append
    for raw in raw_entries:
        entry = _normalise(index, raw, rows)
        if entry is not None:
            add(entry)
        index += 1
    rows.count = index


def _normalise(index: int, raw: Any, rows: _Rows) -> NetworkEntry | None:
    """One raw entry -> NetworkEntry, or None (skipped) when it has no usable request."""
    tally = rows.tally
    if not isinstance(raw, dict):
        tally.add("skipped: not an object", index)
        return None
    try:  # HarEntry.request.url / .method, without the objects
        request = raw["request"]
        url, method = request["url"], request["method"]
    except (KeyError, TypeError, IndexError):
        tally.add("skipped: no request with a url and method", index)
        return None
    if not isinstance(url, str) or not isinstance(method, str):
        tally.add("skipped: request url or method is not text", index)
        return None

    started_at = parse_time(raw.get("startedDateTime"))
    if started_at is None:
        tally.add("have no readable startedDateTime", index)
    time_ms, unfinished = _time_of(raw.get("time"), index, tally)
    response_raw = raw.get("response")
    if response_raw is not None and not isinstance(response_raw, dict):
        tally.add("have a response that is not an object (taken as no response)", index)
        response_raw = None
    status, failed, error, pending = _outcome(response_raw, unfinished, index, tally)

    resource_type = raw.get("_resourceType")
    if not isinstance(resource_type, str):
        resource_type = None
    if resource_type is not None:
        is_document = resource_type.lower() == "document"
    else:
        is_document = _looks_like_navigation(request.get("headers"))

    share = rows.shared.setdefault
    entry = NetworkEntry(
        index=index,
        url=url,
        method=share(method, method),
        status=status,
        started_at=started_at,
        time_ms=time_ms,
        failed=failed,
        error=None if error is None else share(error, error),
        pending=pending,
        resource_type=None if resource_type is None else share(resource_type, resource_type),
        is_document=is_document,
    )
    if rows.keep_raw:
        entry.raw = raw
    if rows.visit is not None:
        try:
            rows.visit(raw)
        except Exception as exc:  # a visitor's bug must not cost the rows, nor the later entries' visits
            rows.visit_errors += 1
            rows.visit_error = rows.visit_error or f"{type(exc).__name__}: {exc}"
    if is_document:
        page, frame = _frame_key(raw)
        rows.documents.append(
            (entry, (None if page is None else share(page, page), None if frame is None else share(frame, frame)))
        )
    return entry


def _time_of(value: Any, index: int, tally: _Tally) -> tuple[float | None, bool]:
    """``(time_ms, unfinished)``: negative times (Playwright's -1) mean the request never finished."""
    if value is None:
        tally.add("have no time", index)
        return None, False
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        tally.add("have a time that is not a number", index)
        return None, False
    if value < 0:
        return None, True
    return float(value), False


def _outcome(
    response: dict[str, Any] | None, unfinished: bool, index: int, tally: _Tally
) -> tuple[int | None, bool, str | None, bool]:
    """``(status, failed, error, pending)`` across the Playwright, Chrome and HTTP dialects."""
    if response is None:
        return None, True, PENDING_ERROR, True
    status_raw = _status_of(response, index, tally)
    status = status_raw if status_raw is not None and status_raw > 0 else None
    failure = response.get("_failureText") or response.get("_error")
    if isinstance(failure, str) and failure.strip():
        return status, True, failure.strip(), False
    if unfinished:
        return status, True, PENDING_ERROR, True
    if status is None:
        shown = "missing" if status_raw is None else status_raw
        return None, True, f"no response (status {shown})", False
    if status >= 400:
        return status, True, _http_error(response, status), False
    return status, False, None, False


def _status_of(response: dict[str, Any], index: int, tally: _Tally) -> int | None:
    """The response status as an int; text and whole floats are coerced and counted."""
    if "status" not in response:
        tally.add("have a response without a status", index)
        return None
    value = response["status"]
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            coerced = int(value.strip())
        except ValueError:
            coerced = None
        if coerced is not None:
            tally.add("have a status written as text (read as a number)", index)
            return coerced
    tally.add("have a status that is not a number (ignored)", index)
    return None


def _http_error(response: dict[str, Any], status: int) -> str:
    text = response.get("statusText", "")
    text = text.strip() if isinstance(text, str) else ""
    return f"HTTP {status} {text}" if text else f"HTTP {status}"


_NAVIGATION_NAME_LENGTHS = frozenset(len(n) for n in ("sec-fetch-dest", "accept", "upgrade-insecure-requests"))


def _looks_like_navigation(headers: Any) -> bool:
    """A navigation request: ``Accept`` includes text/html and ``Sec-Fetch-Dest: document``.

    A navigation that failed before it was sent (DNS, connection) carries only Chromium's
    provisional headers, without ``Sec-Fetch-*``: there the browser's navigation ``Accept``
    (``text/html,application/xhtml+xml,...``) is enough, and where even ``Accept`` is missing (real
    Skyvern HARs of refused and timed-out page loads), ``Upgrade-Insecure-Requests``.
    """
    if not isinstance(headers, list):
        return False
    html = dest = navigation_accept = upgrade = False
    for header in headers:
        if not isinstance(header, dict):
            continue
        name = header.get("name")
        if not isinstance(name, str) or len(name) not in _NAVIGATION_NAME_LENGTHS:  # most headers end here
            continue
        value = header.get("value")
        if not isinstance(value, str):
            continue
        lowered = name.lower()
        if lowered == "sec-fetch-dest":
            if value.strip().lower() != "document":
                return False
            dest = True
        elif lowered == "accept":
            html = "text/html" in value.lower()
            navigation_accept = value.lower().startswith("text/html,application/xhtml+xml")
        elif lowered == "upgrade-insecure-requests":
            upgrade = True
    # A navigation that never left the browser (refused, DNS, timeout) carries only provisional headers:
    # no Accept, but Upgrade-Insecure-Requests, which Chromium sends on navigations alone.
    return (html and (dest or navigation_accept)) or (upgrade and not dest and not html)


# --- noise --------------------------------------------------------------------------------------


def _mark_superseded_navigations(documents: list[tuple[NetworkEntry, _FrameKey]]) -> None:
    """``net::ERR_ABORTED`` on a navigation followed by a later one in the same page/frame: noise.

    The browser aborts the earlier document request when a new navigation starts, so the abort
    says nothing about the site. A lone aborted navigation (nothing after it) stays a failure.
    ``documents`` are the document rows with the page/frame key read from their entry dicts.
    """
    latest: dict[_FrameKey, tuple[float, int]] = {}
    for entry, key in documents:
        position = _position(entry)
        if key not in latest or position > latest[key]:
            latest[key] = position
    for entry, key in documents:
        if entry.error and _ABORTED in entry.error and latest[key] > _position(entry):
            entry.noise = True
            entry.noise_reason = "aborted: a later navigation replaced this page"


def _mark_superseded_requests(entries: list[NetworkEntry]) -> None:
    """``net::ERR_ABORTED`` on a request the page itself replaced: noise, with the reason.

    A typeahead aborts its request when the next keystroke sends another to the same endpoint;
    a page that navigates aborts what it still had in flight. Either way the site did not fail.
    An aborted request with nothing after it stays a failure.
    """
    aborted = [e for e in entries if not e.noise and not e.is_document and e.error and _ABORTED in e.error]
    if not aborted:
        return
    # Only the endpoints of aborted requests matter: the others' places are not worked out (a long run's 30,000).
    last_by_endpoint: dict[tuple[str, str], tuple[float, int] | None] = {
        (entry.method, _endpoint(entry.url)): None for entry in aborted
    }
    last_document: tuple[float, int] | None = None
    for entry in entries:
        key = (entry.method, _endpoint(entry.url))
        if key in last_by_endpoint:
            position = _position(entry)
            last = last_by_endpoint[key]
            if last is None or position > last:
                last_by_endpoint[key] = position
        if entry.is_document:
            position = _position(entry)
            if last_document is None or position > last_document:
                last_document = position
    for entry in aborted:
        position = _position(entry)
        last = last_by_endpoint[(entry.method, _endpoint(entry.url))]
        if last is not None and last > position:
            entry.noise = True
            entry.noise_reason = "aborted: superseded by a later request to the same endpoint"
        elif last_document is not None and last_document > position:
            entry.noise = True
            entry.noise_reason = "aborted: the page navigated away"


def _endpoint(url: str) -> str:
    """The URL without its query or fragment."""
    return url.split("#", 1)[0].split("?", 1)[0]


def _frame_key(raw: dict[str, Any]) -> _FrameKey:
    """Page and frame of an entry, from the optional ``pageref`` / ``_frameref`` fields."""
    page = raw.get("pageref")
    frame = raw.get("_frameref", raw.get("_frameId"))
    return (page if isinstance(page, str) else None, frame if isinstance(frame, str) else None)


def _position(entry: NetworkEntry) -> tuple[float, int]:
    start = entry.started_at.timestamp() if entry.started_at is not None else -math.inf
    return start, entry.index
