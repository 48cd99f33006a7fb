"""The HTML report: self-contained, escaped, redacted, and working in a real headless Chromium.

The first half needs no browser (structure, escaping, secrets, size, images); the second opens
the reports in Debian's Chromium through Playwright (see ``tests/browser.py``) with every
outside request blocked and counted: the reports as they are, then located (``debugkit.locate``:
crops in the action cards, the "element numbers" overlay), then the support bundle's report.html.
Every test that opens a page is in this module (the ``browser`` fixture is session-scoped, and
Playwright's sync API runs once per thread); ``tests/test_report_locations.py`` has the location
checks that need no browser.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import re
import shutil
import zipfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

try:  # tests/ on sys.path (pytest's default rootdir-less import), or tests/ as a package
    from browser import browser, offline_page, require_browser  # noqa: F401  (pytest fixtures)
except ImportError:  # pragma: no cover
    from tests.browser import browser, offline_page, require_browser  # noqa: F401

from triaged import as_recorded

import debugkit
from debugkit.analysis.triage import Triage
from debugkit.load import load_run
from debugkit.locate import locate_triage
from debugkit.model import Screenshot
from debugkit.redaction.patterns import redact_text, redact_url
from debugkit.report.bundle import build_bundle
from debugkit.report.html import anchor_id, default_filename, locate_for_report, ref_anchor, render_html, write_html
from debugkit.report.images import ImageSet
from debugkit.sources import open_source

ROOT = Path(__file__).resolve().parent.parent
RUNS = ROOT / "fixtures" / "runs"
REAL = ROOT / "fixtures" / "real"
BROWSER_FIXTURES = [
    "runs/site_500_submit",
    "runs/hallucinated_id",
    "runs/iframe_element",
    "runs/login_401",
    "real/checkout_500",
]
ALL_FIXTURES = (
    sorted(f"runs/{p.name}" for p in RUNS.iterdir() if p.is_dir())
    + sorted(f"real/{p.name}" for p in REAL.iterdir() if p.is_dir())
    + ["local_storage", "archives/step_archive.zip", "archives/task_archive.zip"]
)
SCRIPT_PAYLOAD = "<script>alert(1)</script>"
IMG_PAYLOAD = '"><img src=x onerror=alert(1)>'
JS_URL_PAYLOAD = "javascript:alert(1)"
PWN_PAYLOAD = '<script>window.__pwned=1</script><img src=x onerror="window.__pwned=1">'
PAYLOAD = f"{SCRIPT_PAYLOAD} {IMG_PAYLOAD} {JS_URL_PAYLOAD} {PWN_PAYLOAD}"
LIMIT_5_STEPS = 3 * 1024 * 1024


def triage_of(source: str | Path, **kwargs: Any) -> Triage:
    """The analysed model the reporters read, of the run as recorded (tests/triaged.py)."""
    return as_recorded(source, **kwargs).analysis


def fixture_path(name: str) -> Path:
    return ROOT / "fixtures" / name


_HTML_CACHE: dict[tuple[str, bool], str] = {}


def report_of(name: str, *, redact: bool = True) -> str:
    key = (name, redact)
    if key not in _HTML_CACHE:
        _HTML_CACHE[key] = render_html(triage_of(fixture_path(name)), redact=redact)
    return _HTML_CACHE[key]


class _Tags(HTMLParser):
    """Every start tag with its attributes, and the raw text of <script>/<style> elements."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.raw: dict[str, list[str]] = {"script": [], "style": []}
        self._in: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag in self.raw:
            self._in = tag
            self.raw[tag].append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == self._in:
            self._in = None

    def handle_data(self, data: str) -> None:
        if self._in:
            self.raw[self._in][-1] += data


def parse(html: str) -> _Tags:
    parser = _Tags()
    parser.feed(html)
    parser.close()
    return parser


def sha256_source(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


# --- an injected run (XSS payloads) and a signed URL ------------------------------------------------


def _walk(node: Any, visit) -> None:
    if isinstance(node, dict):
        visit(node)
        for value in node.values():
            _walk(value, visit)
    elif isinstance(node, list):
        for value in node:
            _walk(value, visit)


def _rewrite_json(path: Path, visit) -> None:
    data = json.loads(path.read_text())
    _walk(data, visit)
    path.write_text(json.dumps(data))


def injected_run(tmp_path: Path) -> Path:
    """site_500_submit with the payloads in element text and attributes, the HTML snippet,
    every reasoning, two HAR request URLs and the failure reason; plus a signed URL."""
    run = tmp_path / "site_500_xss"
    shutil.copytree(RUNS / "site_500_submit", run)
    files = run / "files"

    def element(node: dict) -> None:
        if node.get("id") == "AAAH":
            node["text"] = PAYLOAD
            node.setdefault("attributes", {})["aria-label"] = IMG_PAYLOAD
            node["attributes"]["href"] = JS_URL_PAYLOAD

    def reasoning(node: dict) -> None:
        if "reasoning" in node and "action_type" in node:
            node["reasoning"] = f"reasoning {PAYLOAD}"
        element(node)

    for tree in files.glob("*__visible_elements_tree__*"):
        _rewrite_json(tree, element)
    for name in ("steps.json", "actions.json"):
        _rewrite_json(run / name, reasoning)
    for scrape in files.glob("*__html_scrape__*"):
        text = scrape.read_text()
        text = text.replace('unique_id="AAAH"', 'unique_id="AAAH" onmouseover="window.__pwned=1" data-x="&quot;&gt;'
                            '&lt;img src=x onerror=alert(1)&gt;"')
        scrape.write_text(text)
    har = next(files.glob("*__har__*"))
    data = json.loads(har.read_text())
    entries = data["log"]["entries"]
    entries[3]["request"]["url"] = "https://shop.example.com/api/order?q=" + PAYLOAD
    entries[1]["request"]["url"] = JS_URL_PAYLOAD
    entries[2]["request"]["url"] = (
        "https://bucket.s3.amazonaws.com/cart.json?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAEXAMPLE"
        "&X-Amz-Signature=0f9e8d7c6b5a49382716aabbccddeeff&X-Amz-Expires=300"
    )
    entries[0]["request"]["url"] = (
        "https://shop.example.com/checkout?expiry=1791360000&kid=k1&sig=SiGnAtUrEvAlUe0123456789abcdefSIGSIGSIGSIG"
    )
    har.write_text(json.dumps(data))
    for name in ("run.json", "task.json"):
        doc = json.loads((run / name).read_text())
        doc["failure_reason"] = f"failure {PAYLOAD}"
        (run / name).write_text(json.dumps(doc))
    return run


# --- structure: one file, nothing outside ------------------------------------------------------------


@pytest.mark.parametrize("name", ALL_FIXTURES)
def test_report_is_self_contained(name: str) -> None:
    html = report_of(name)
    doc = parse(html)
    csp = [a.get("content") for t, a in doc.tags if t == "meta" and a.get("http-equiv") == "Content-Security-Policy"]
    assert len(csp) == 1
    policy = csp[0] or ""
    assert "default-src 'none'" in policy and "img-src data:" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy and "http" not in policy
    # the one script and the one style sheet are allowed by their hashes, nothing else is
    assert len(doc.raw["script"]) == 1 and len(doc.raw["style"]) == 1
    assert f"script-src {sha256_source(doc.raw['script'][0])}" in policy
    assert f"style-src {sha256_source(doc.raw['style'][0])}" in policy
    for tag, attrs in doc.tags:
        assert tag not in ("link", "iframe", "object", "embed", "base", "form", "frame"), tag
        assert not any(key.startswith("on") for key in attrs), (tag, attrs)
        assert "style" not in attrs, (tag, attrs)  # no inline style attributes: the CSP would block them
        if tag == "script":
            assert "src" not in attrs
        if "href" in attrs:
            assert (attrs["href"] or "").startswith("#"), attrs
        if "src" in attrs:
            assert (attrs["src"] or "").startswith("data:image/"), (tag, (attrs["src"] or "")[:40])


@pytest.mark.parametrize("name", ALL_FIXTURES)
def test_every_in_page_link_has_a_target_and_ids_are_unique(name: str) -> None:
    doc = parse(report_of(name))
    ids = [a["id"] for _, a in doc.tags if a.get("id")]
    assert len(ids) == len(set(ids)), [i for i in ids if ids.count(i) > 1][:5]
    for _, attrs in doc.tags:
        href = attrs.get("href")
        if href and href != "#_":
            assert href[1:] in ids, href
        if attrs.get("data-target"):
            assert attrs["data-target"] in ids
    for identifier in ids:
        assert re.fullmatch(r"[A-Za-z][A-Za-z0-9_-]*", identifier), identifier


def test_evidence_refs_become_links_to_their_targets() -> None:
    t = triage_of(RUNS / "site_500_submit")
    doc = parse(render_html(t))
    ids = {a["id"] for _, a in doc.tags if a.get("id")}
    links = [a["href"] for tag, a in doc.tags if tag == "a" and "evidence-link" in (a.get("class") or "")]
    refs = [e.ref for e in t.diagnosis.verdict.evidence]
    assert len(links) == len(refs)
    assert [f"#{ref_anchor(ref)}" for ref in refs] == links
    assert all(link[1:] in ids for link in links)
    assert "failure-reason" in ids


def test_anchor_ids_are_sanitised_and_distinct() -> None:
    assert ref_anchor("step:stp_1/action:2") == "a-stp_1-2"
    assert ref_anchor("step:stp_1") == "s-stp_1"
    assert ref_anchor("har:12") == "har-12"
    assert ref_anchor("console:3") == "console-3"
    assert ref_anchor("run.failure_reason") == "failure-reason"
    assert ref_anchor("nonsense") is None
    odd = anchor_id("s", 'stp"><script>')
    assert re.fullmatch(r"[A-Za-z0-9_-]+", odd)
    assert anchor_id("s", "a b") != anchor_id("s", "a_b")


def test_default_filename_is_safe() -> None:
    t = triage_of(RUNS / "hallucinated_id")
    assert default_filename(t) == f"debugkit-{t.run.run_id}.html"
    t.run.run_id = "../../etc/x y"
    assert default_filename(t) == "debugkit-etc_x_y.html"
    t.run.run_id = None
    assert default_filename(t) == "debugkit-run.html"


def test_control_and_bidi_characters_are_made_visible(tmp_path: Path) -> None:
    run = tmp_path / "bidi"
    shutil.copytree(RUNS / "hallucinated_id", run)
    doc = json.loads((run / "run.json").read_text())
    doc["failure_reason"] = "evil\u202egnp.exe\x00 done"
    (run / "run.json").write_text(json.dumps(doc))
    html = render_html(triage_of(run))
    assert "\u202e" not in html and "\x00" not in html
    assert "evil\\u202egnp.exe\\u0000 done" in html


def test_verdict_and_header_facts_are_in_the_report() -> None:
    html = report_of("runs/site_500_submit")
    assert 'data-testid="verdict-cause">site_server_error<' in html
    assert 'data-testid="verdict-category">WEBSITE_ERROR<' in html
    assert "tsk_582820753070242176" in html
    assert "Reached the maximum steps (3)" in html


# --- escaping --------------------------------------------------------------------------------------


def test_payloads_are_escaped_everywhere(tmp_path: Path) -> None:
    t = triage_of(injected_run(tmp_path))
    html = render_html(t)
    doc = parse(html)
    assert len(doc.raw["script"]) == 1  # the report's own
    assert "<script>alert(1)" not in html and "<img src=x" not in html
    assert "window.__pwned=1</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&#34;&gt;&lt;img src=x onerror=alert(1)&gt;" in html
    assert "javascript:alert(1)" in html  # as text
    for tag, attrs in doc.tags:
        assert not any(k.startswith("on") for k in attrs), (tag, attrs)
        assert not (attrs.get("href") or "#").lower().startswith("javascript"), attrs
    assert html.count("failure &lt;script&gt;") >= 1


# --- secrets --------------------------------------------------------------------------------------


def test_login_401_report_shows_no_secret() -> None:
    secrets = json.loads((RUNS / "login_401" / "expected.json").read_text())["secrets"]
    html = report_of("runs/login_401")
    for name, value in secrets.items():
        assert value not in html, name
    assert "[masked: 15 chars]" in html  # the password: its length and field, not its value
    assert "hunter2" not in html


def test_report_over_an_upstream_redacted_run() -> None:
    """With the redaction stage (debugkit.redaction) run first, as the CLI does: no secret, and a
    placeholder it left is shown as it is with the typed value's length, not masked again."""
    secrets = json.loads((RUNS / "login_401" / "expected.json").read_text())["secrets"]
    html = render_html(debugkit.triage(RUNS / "login_401", locate=False).analysis)
    for name, value in secrets.items():
        assert value not in html, name
    assert re.search(r'class="masked">\[REDACTED:[0-9a-f]+\] \(15 chars\)<', html)  # the field keeps its length
    assert "[masked: 19 chars]" not in html


def test_no_redact_shows_typed_values_and_says_so() -> None:
    html = report_of("runs/login_401", redact=False)
    assert "hunter2-Secret!" in html
    assert "not redacted" in html


def test_signed_urls_lose_their_query(tmp_path: Path) -> None:
    html = render_html(triage_of(injected_run(tmp_path)))
    for marker in ("X-Amz-Signature", "X-Amz-Credential", "AKIAEXAMPLE", "sig=", "SiGnAtUrEvAlUe", "kid=k1"):
        assert marker not in html, marker
    assert "https://bucket.s3.amazonaws.com/cart.json?[signed query removed: 4 parameters]" in html
    assert "https://shop.example.com/checkout?[signed query removed: 3 parameters]" in html


def test_bundled_fixture_signed_artifact_urls_never_appear() -> None:
    html = report_of("runs/bundled_step_archive")
    assert "sig=" not in html and "X-Amz-Signature" not in html


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://b.s3.amazonaws.com/k.png?X-Amz-Signature=abc&X-Amz-Date=1", "https://b.s3.amazonaws.com/k.png?"
         "[signed query removed: 2 parameters]"),
        ("https://api/v1/artifacts/a/content?expiry=1&kid=k1&sig=xyz", "https://api/v1/artifacts/a/content?"
         "[signed query removed: 3 parameters]"),
        ("https://h/search?q=blue+widget&page=2", "https://h/search?q=blue+widget&page=2"),
        ("https://h/cb?code=abc&state=xyz&lang=en", "https://h/cb?code=[redacted]&state=[redacted]&lang=en"),
        ("https://u:pw@h/p#access_token=t0k&x=1", "https://u:[redacted]@h/p#access_token=[redacted]&x=1"),
        ("https://h/p?api_key=123", "https://h/p?api_key=[redacted]"),
        ("javascript:alert(1)", "javascript:alert(1)"),
    ],
)
def test_redact_url(url: str, expected: str) -> None:
    assert redact_url(url) == expected


def test_redact_text() -> None:
    text = (
        "GET https://x/a?sig=zz failed; Authorization: Bearer abc.def.ghi\nBearer abcdefgh1jkl password=hunter2 ok\n"
        'body {"client_secret": "s3cr3t"} jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl'
    )
    out = redact_text(text)
    for secret in ("sig=zz", "abc.def.ghi", "abcdefgh1jkl", "hunter2", "s3cr3t", "eyJ", "c2lnbmF0dXJl"):
        assert secret not in out
    assert "ok\nbody" in out
    prose = "Basic information. Bearer of bad news. Password: show. Cookies help us. Token expired."
    assert redact_text(prose) == prose


# --- size and images ---------------------------------------------------------------------------------


def test_five_step_report_is_under_3_mb() -> None:
    size = len(report_of("runs/site_500_submit").encode())
    assert size < LIMIT_5_STEPS, size


def test_write_html_is_atomic_and_returns_its_size(tmp_path: Path) -> None:
    t = triage_of(RUNS / "hallucinated_id")
    target = tmp_path / "report.html"
    target.write_text("old")
    written = write_html(t, target)
    assert written == target.stat().st_size > 1000
    assert target.read_text().startswith("<!DOCTYPE html>")
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]


def _png(color: tuple[int, int, int], size: tuple[int, int] = (1280, 800)) -> bytes:
    buffer = io.BytesIO()
    image = Image.new("RGB", size, color)
    for x in range(0, size[0], 40):  # some detail so the encodings are not trivially small
        image.paste((x % 255, 80, 160), (x, 0, x + 20, size[1] // 3))
    image.save(buffer, "PNG")
    return buffer.getvalue()


def test_images_are_reencoded_deduplicated_and_budgeted() -> None:
    first = Screenshot("screenshot_llm", "a.png", data=_png((250, 250, 250)), width=1280, height=800)
    same = Screenshot("screenshot_action", "b.png", data=first.data, width=1280, height=800)
    other = Screenshot("screenshot_action", "c.png", data=_png((10, 10, 10)), width=1280, height=800)
    images = ImageSet(budget=10**9)
    for shot in (first, same, other):
        images.add(shot)
    images.encode()
    assert len(images.images()) == 2
    encoded = images.get(first)
    assert encoded is images.get(same)
    assert encoded.thumb and encoded.thumb.startswith("data:image/")
    assert encoded.thumb_width == 480 and encoded.full_width == 1280
    payload = base64.b64decode(encoded.thumb.split(",", 1)[1])
    assert not payload.startswith(b"\x89PNG")  # re-encoded, not the original bytes

    tight = ImageSet(budget=1)  # thumbnails only: full-size versions are left out, and said so
    tight.add(other)
    tight.encode()
    assert tight.get(other).thumb and tight.get(other).full is None and tight.get(other).full_omitted


def test_corrupt_screenshot_is_a_named_placeholder(tmp_path: Path) -> None:
    images = ImageSet()
    garbage = Screenshot("screenshot_action", "x.png", artifact_id="a_9", data=b"\x89PNG\r\n\x1a\nnot really")
    broken = Screenshot("screenshot_llm", "y.png", error="truncated image")
    images.add(garbage)
    images.add(broken)
    images.encode()
    assert images.get(garbage).error and images.get(broken).error == "truncated image"

    run = tmp_path / "corrupt"
    shutil.copytree(RUNS / "site_500_submit", run)
    for shot in (run / "files").glob("*__screenshot_action__*"):
        shot.write_bytes(shot.read_bytes()[:200])
    html = render_html(triage_of(run))
    assert "Screenshot unavailable" in html
    assert "Missing or damaged artifacts" in html and "screenshot_action" in html


def test_focused_step_report_links_only_to_what_it_shows() -> None:
    t = triage_of(RUNS / "site_500_submit", step="0")
    doc = parse(render_html(t))
    ids = {a["id"] for _, a in doc.tags if a.get("id")}
    assert "s-stp_582820753070242178" in ids and "s-stp_582820851854490080" not in ids
    for _, attrs in doc.tags:
        href = attrs.get("href")
        if href and href != "#_":
            assert href[1:] in ids, href


# --- in a real browser -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, Triage]]:
    out = tmp_path_factory.mktemp("reports")
    made = {}
    for name in BROWSER_FIXTURES:
        t = triage_of(fixture_path(name))
        path = out / (name.replace("/", "_") + ".html")
        write_html(t, path)
        made[name] = (path, t)
    return made


IN_VIEW = """(id) => {
  const el = document.getElementById(id);
  if (!el) return false;
  const r = el.getBoundingClientRect();
  return r.height > 0 && r.top >= 0 && r.top < window.innerHeight;
}"""


@pytest.mark.parametrize("name", BROWSER_FIXTURES)
def test_report_renders_offline_without_errors(name, reports, offline_page, tmp_path) -> None:  # noqa: F811
    path, t = reports[name]
    page, watch = offline_page(path)
    assert watch.clean(), watch.summary()
    assert len(watch.allowed) == 1  # the report itself, nothing else
    cause = t.diagnosis.verdict.cause
    expected = fixture_path(name) / "expected.json"
    if expected.exists():
        assert cause == json.loads(expected.read_text())["cause"]
    header = page.locator("[data-testid=verdict-cause]")
    assert header.is_visible() and header.inner_text() == cause
    # the verdict, its chain and the decisive action are on the first screen, not thousands of px below
    assert page.locator("[data-testid=verdict-cause]").bounding_box()["y"] < 400
    decisive = page.locator("[data-testid=decisive-action]")
    if t.diagnosis.decisive or t.diagnosis.failing.view:
        assert decisive.is_visible() and decisive.bounding_box()["y"] < 1400
    assert page.locator(".topnav").is_visible()
    assert page.evaluate("getComputedStyle(document.querySelector('.verdict-card')).borderLeftStyle") == "solid"
    shot = tmp_path / "page.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    if name == "runs/site_500_submit" and os.environ.get("DEBUGKIT_SCREENSHOT_DIR"):  # to look at it
        shutil.copy(shot, Path(os.environ["DEBUGKIT_SCREENSHOT_DIR"]) / "debugkit-report.png")
    assert watch.clean(), watch.summary()


@pytest.mark.parametrize("name", BROWSER_FIXTURES)
def test_evidence_links_scroll_to_their_targets(name, reports, offline_page) -> None:  # noqa: F811
    path, t = reports[name]
    page, watch = offline_page(path)
    links = page.locator("a.evidence-link")
    assert links.count() >= 1
    for i in range(links.count()):
        link = links.nth(i)
        target = link.get_attribute("href")[1:]
        page.evaluate("window.scrollTo(0, 0)")
        if target != "failure-reason":  # the failure reason is in the header, in view at the top
            assert not page.evaluate(IN_VIEW, target), target
        link.click()
        page.wait_for_function("(id) => location.hash === '#' + id", arg=target, timeout=3000)
        page.wait_for_function(IN_VIEW, arg=target, timeout=3000)
        page.evaluate("() => new Promise(done => setTimeout(done, 50))")  # let hashchange handlers run
        assert page.evaluate(IN_VIEW, target), target
    assert watch.clean(), watch.summary()


@pytest.mark.parametrize("name", BROWSER_FIXTURES)
def test_network_filters_and_row_click(name, reports, offline_page) -> None:  # noqa: F811
    path, t = reports[name]
    page, watch = offline_page(path)
    rows = page.locator("#net-table tbody tr")
    visible = page.locator("#net-table tbody tr:not([hidden])")
    total = rows.count()
    failed = page.locator("#net-table tbody tr[data-failed='1']").count()
    assert total == len(t.run.network) and failed == sum(1 for e in t.run.network if e.failed)
    assert visible.count() == total
    page.check("#net-failed-only")
    assert visible.count() == failed
    assert page.locator("#net-table tbody tr[data-failed='0']:not([hidden])").count() == 0
    assert page.locator("#net-count").inner_text() == f"{failed} of {total} requests"
    page.uncheck("#net-failed-only")
    assert visible.count() == total

    page.fill("#net-text", "zz-no-such-request")
    assert visible.count() == 0
    page.fill("#net-text", "")
    assert visible.count() == total

    row = page.locator("#net-table tbody tr[data-target]").last
    if row.count():
        target = row.get_attribute("data-target")
        page.evaluate("window.scrollTo(0, 0)")
        row.locator("td").first.click()
        page.wait_for_function(IN_VIEW, arg=target, timeout=3000)
    assert watch.clean(), watch.summary()


@pytest.mark.parametrize("name", BROWSER_FIXTURES)
def test_keyboard_moves_between_actions(name, reports, offline_page) -> None:  # noqa: F811
    path, t = reports[name]
    page, watch = offline_page(path)
    cards = page.eval_on_selector_all(".action-card", "els => els.map(e => e.id)")
    assert len(cards) == sum(len(s.actions) for s in t.steps) >= 2
    active = "() => document.activeElement && document.activeElement.id"
    page.keyboard.press("j")
    assert page.evaluate(active) == cards[0]
    page.keyboard.press("j")
    assert page.evaluate(active) == cards[1]
    assert page.evaluate(IN_VIEW, cards[1])
    page.keyboard.press("k")
    assert page.evaluate(active) == cards[0]
    assert page.evaluate(IN_VIEW, cards[0])
    decisive = t.diagnosis.decisive or t.diagnosis.failing.view
    if decisive is not None:
        page.keyboard.press("f")
        wanted = anchor_id("a", decisive.step.step_id, decisive.action.index)
        assert page.evaluate(active) == wanted
        assert page.evaluate(IN_VIEW, wanted)
    assert watch.clean(), watch.summary()


def test_screenshot_opens_large_and_closes(reports, offline_page) -> None:  # noqa: F811
    path, _ = reports["runs/site_500_submit"]
    page, watch = offline_page(path)
    link = page.locator("a.shot-link").first
    box_id = link.get_attribute("href")[1:]
    link.click()
    box = page.locator(f"#{box_id}")
    assert box.is_visible()
    assert page.evaluate(f"document.querySelector('#{box_id} img').naturalWidth") > 0
    page.keyboard.press("ArrowRight")
    assert not box.is_visible() or page.locator(".lightbox.open").count() == 1
    page.keyboard.press("Escape")
    assert page.locator(".lightbox.open").count() == 0
    assert watch.clean(), watch.summary()


def test_print_layout_expands_and_hides_controls(reports, offline_page) -> None:  # noqa: F811
    path, _ = reports["runs/site_500_submit"]
    page, watch = offline_page(path)
    page.check("#net-failed-only")
    page.emulate_media(media="print")
    page.evaluate("window.dispatchEvent(new Event('beforeprint'))")
    assert not page.locator(".filters").is_visible()
    assert not page.locator(".topnav").is_visible()
    assert page.locator("details:not([open])").count() == 0
    ok_row = page.locator("#net-table tbody tr[data-failed='0']").first
    assert ok_row.is_visible()  # rows hidden by the filter print anyway
    assert watch.clean(), watch.summary()


def test_xss_payloads_stay_text_in_the_browser(tmp_path, offline_page) -> None:  # noqa: F811
    run = injected_run(tmp_path)
    path = tmp_path / "xss.html"
    write_html(triage_of(run), path)
    page, watch = offline_page(path)
    page.locator("#net-table tbody tr").first.hover()
    for card in page.locator(".action-card").all():
        card.hover()
    page.wait_for_timeout(200)
    assert watch.dialogs == [] and watch.blocked == [] and watch.page_errors == [], watch.summary()
    assert watch.console_errors == [], watch.summary()
    assert page.evaluate("window.__pwned") is None
    assert page.evaluate("document.scripts.length") == 1
    assert page.evaluate("document.querySelectorAll('img[src=x], img:not([src^=\"data:\"])').length") == 0
    hrefs = page.eval_on_selector_all("a[href]", "els => els.map(e => e.getAttribute('href'))")
    assert all(h.startswith("#") for h in hrefs)
    text = page.inner_text("body")
    for payload in (SCRIPT_PAYLOAD, IMG_PAYLOAD, JS_URL_PAYLOAD, PWN_PAYLOAD):
        assert payload in text, payload


def test_screenshot_without_full_version_is_enlarged_from_its_thumbnail(
    tmp_path, offline_page, monkeypatch  # noqa: F811
) -> None:
    monkeypatch.setattr("debugkit.report.html.IMAGE_BUDGET", 1)  # thumbnails only
    path = tmp_path / "thumbs.html"
    write_html(triage_of(RUNS / "site_500_submit"), path)
    html = path.read_text()
    assert "full-size version left out" in html
    assert html.count("data:image/") == html.count('class="shot-link"')  # nothing embedded twice
    page, watch = offline_page(path)
    page.locator("a.shot-link").first.click()
    box = page.locator(".lightbox.open")
    assert box.count() == 1 and box.is_visible()
    assert page.evaluate("document.querySelector('.lightbox.open img').naturalWidth") > 0
    assert watch.clean(), watch.summary()


# --- where the element was (debugkit.locate), in a browser -------------------------------------------


LOCATED = ["real/checkout_500", "runs/site_500_submit"]
CHOSEN = "AAAH"  # the decisive click of both runs


def decisive_of(t: Triage):
    return t.diagnosis.decisive or t.diagnosis.failing.view


def in_own_thread(func: Callable[[], Any]) -> Any:
    """Run ``func`` in a thread of its own, closing the renderer it started there.

    debugkit.locate keeps one Playwright per thread; the test browser (``tests/browser.py``) runs
    Playwright's sync API in the main thread, and two cannot share one thread."""

    def work() -> Any:
        from debugkit.locate.render import get_renderer

        try:
            return func()
        finally:
            get_renderer().close()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(work).result()


@pytest.fixture(scope="module")
def located(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """Each run located twice: ``locate_triage`` (crops, chosen boxes) and ``locate_for_report`` (overlays)."""
    require_browser()
    out = tmp_path_factory.mktemp("located")
    made: dict[str, dict[str, Any]] = {}
    for name in LOCATED:
        source = ROOT / "fixtures" / name
        t = triage_of(source)
        in_own_thread(lambda t=t: locate_triage(t))
        plain = out / (name.replace("/", "_") + ".html")
        write_html(t, plain)
        t_full = triage_of(source)
        overlays = in_own_thread(lambda t=t_full: locate_for_report(t))
        full = out / (name.replace("/", "_") + "_overlays.html")
        write_html(t_full, full, overlays=overlays)
        made[name] = {"triage": t, "path": plain, "full_triage": t_full, "overlays": overlays, "full_path": full}
    return made


BOXES = """(stepId) => {
  const block = document.querySelector('#' + stepId + ' .model-saw');
  return Array.from(block.querySelectorAll('.shot.has-ovl')).flatMap(fig => {
    const img = fig.querySelector('img').getBoundingClientRect();
    return Array.from(fig.querySelectorAll('.ob')).map(box => {
      const r = box.getBoundingClientRect();
      const style = getComputedStyle(box);
      return {
        label: box.textContent, chosen: box.classList.contains('chosen'), x: r.x, y: r.y, w: r.width, h: r.height,
        visible: r.width > 0 && r.height > 0 && style.visibility !== 'hidden',
        border: style.borderTopStyle, borderWidth: parseFloat(style.borderTopWidth), colour: style.borderTopColor,
        img: {x: img.x, y: img.y, w: img.width, h: img.height},
      };
    });
  });
}"""


def _inside(box: dict[str, Any], slack: float = 1.5) -> bool:
    img = box["img"]
    return (
        box["x"] >= img["x"] - slack
        and box["y"] >= img["y"] - slack
        and box["x"] + box["w"] <= img["x"] + img["w"] + slack
        and box["y"] + box["h"] <= img["y"] + img["h"] + slack
    )


def _check_self_contained(html: str) -> None:
    """The located report keeps the rules: one hashed style sheet (with the overlay rules), no style attributes."""
    tags = parse(html).tags
    policy = next(a["content"] for t, a in tags if t == "meta" and a.get("http-equiv") == "Content-Security-Policy")
    style = re.search(r"<style>(.*?)</style>", html, re.S)
    assert style and html.count("<style>") == 1
    assert f"style-src {sha256_source(style.group(1))}" in (policy or "")
    assert re.search(r"\.ob\.ox\d+\{left:", style.group(1))  # the overlay's generated rules, in the hashed sheet
    for tag, attrs in tags:
        assert "style" not in attrs, (tag, attrs)
        assert not any(key.startswith("on") for key in attrs), (tag, attrs)
        if "src" in attrs:
            assert (attrs["src"] or "").startswith("data:image/"), tag
        if "href" in attrs:
            assert (attrs["href"] or "").startswith("#"), attrs


@pytest.mark.parametrize("name", LOCATED)
def test_decisive_card_shows_a_crop_and_where_it_was(name, located, offline_page) -> None:  # noqa: F811
    made = located[name]
    t, path = made["triage"], made["path"]
    view = decisive_of(t)
    assert view is not None and view.action.element_id == CHOSEN
    location = t.locations[(view.step.step_id, view.action.index)]
    assert location.found
    html = path.read_text()
    _check_self_contained(html)

    page, watch = offline_page(path)
    card = f"#{anchor_id('a', view.step.step_id, view.action.index)}"
    img = page.locator(f"{card} .where img")
    assert img.count() == 1
    img.scroll_into_view_if_needed()
    assert img.is_visible()
    natural = page.evaluate(
        "(sel) => { const i = document.querySelector(sel); return [i.naturalWidth, i.naturalHeight]; }",
        f"{card} .where img",
    )
    assert natural[0] > 0 and natural[1] > 0
    src = img.get_attribute("src")
    assert src.startswith("data:image/webp;base64,")
    with Image.open(io.BytesIO(base64.b64decode(src.split(",", 1)[1]))) as picture:
        picture.load()
        assert picture.format == "WEBP" and list(picture.size) == natural
        # the box is drawn in the chosen colour (magenta) somewhere on the crop
        rgb = picture.convert("RGB")
        assert any(r > 180 and g < 60 and b > 80 for _, (r, g, b) in rgb.getcolors(1 << 24))
    line = page.locator(f"{card} .where .where-line").inner_text()
    assert "screenshot 1" in line and "x 40-" in line
    assert "approximate" in line and "confidence" in line
    # the crop opens the whole screenshot it was cut from
    page.locator(f"{card} .where a.crop-link").click()
    assert page.locator(".lightbox.open").count() == 1
    page.keyboard.press("Escape")
    assert page.locator(".lightbox.open").count() == 0
    assert watch.clean(), watch.summary()
    assert len(watch.allowed) == 1


@pytest.mark.parametrize("name", LOCATED)
@pytest.mark.parametrize("variant", ["chosen", "overlays"])
def test_element_numbers_toggle_draws_boxes_over_what_the_model_saw(
    name, variant, located, offline_page, tmp_path  # noqa: F811
) -> None:
    made = located[name]
    t = made["triage"] if variant == "chosen" else made["full_triage"]
    path = made["path"] if variant == "chosen" else made["full_path"]
    step = decisive_of(t).step
    step_anchor = anchor_id("s", step.step_id)
    page, watch = offline_page(path)
    toggle = page.locator(f"#{step_anchor}-els")
    assert toggle.count() == 1
    boxes = page.evaluate(BOXES, step_anchor)
    assert boxes and not any(b["visible"] for b in boxes)  # off at first: the thumbnails as they were
    thumb_width = page.evaluate(f"document.querySelector('#{step_anchor} .model-saw .shot.has-ovl').offsetWidth")

    toggle.check()
    page.wait_for_timeout(100)
    boxes = page.evaluate(BOXES, step_anchor)
    assert all(b["visible"] for b in boxes)
    assert all(_inside(b) for b in boxes), boxes
    wide = page.evaluate(f"document.querySelector('#{step_anchor} .model-saw .shot.has-ovl').offsetWidth")
    assert wide > 2 * thumb_width  # shown large enough to read the numbers
    chosen = [b for b in boxes if b["chosen"]]
    labels = [b["label"] for b in chosen]
    assert any(label.split()[0] == CHOSEN for label in labels), labels
    assert {label.split()[0] for label in labels} >= {a.element_id for a in step.actions if a.element_id} - {None}
    for b in chosen:  # emphasised: thicker, magenta; re-rendered, so dashed
        assert b["borderWidth"] >= 2 and b["colour"] == "rgb(230, 0, 126)" and b["border"] == "dashed"
    others = [b for b in boxes if not b["chosen"]]
    if variant == "overlays":  # every interactable element, numbered
        expected = {e for e, loc in made["overlays"][step.step_id].items() if loc.found}
        assert {b["label"].split()[0] for b in boxes} == expected
        assert others and all(b["borderWidth"] < 2 for b in others)
    else:
        assert others == []
    # the full-size version replaces the thumbnail while the numbers are on, and goes back after
    src_on = page.evaluate(f"document.querySelector('#{step_anchor} .model-saw .shot.has-ovl img').src")
    toggle.uncheck()
    page.wait_for_timeout(50)
    assert not any(b["visible"] for b in page.evaluate(BOXES, step_anchor))
    src_off = page.evaluate(f"document.querySelector('#{step_anchor} .model-saw .shot.has-ovl img').src")
    assert len(src_on) > len(src_off)
    # keys still work after clicking the box (a checkbox is not a text field)
    toggle.check()
    page.keyboard.press("f")
    decisive = decisive_of(t)
    assert page.evaluate("document.activeElement.id") == anchor_id("a", decisive.step.step_id, decisive.action.index)

    if name == "real/checkout_500" and variant == "overlays":
        page.locator(f"#{step_anchor}").scroll_into_view_if_needed()
        page.screenshot(path=str(tmp_path / "located.png"), full_page=True)
        if os.environ.get("DEBUGKIT_SCREENSHOT_DIR"):  # to look at it
            keep = Path(os.environ["DEBUGKIT_SCREENSHOT_DIR"]) / "debugkit-report-locate.png"
            shutil.copy(tmp_path / "located.png", keep)
    assert watch.clean(), watch.summary()
    assert len(watch.allowed) == 1


def test_element_numbers_print_with_the_page(located, offline_page) -> None:  # noqa: F811
    made = located["real/checkout_500"]
    step = decisive_of(made["full_triage"]).step
    step_anchor = anchor_id("s", step.step_id)
    page, watch = offline_page(made["full_path"])
    page.locator(f"#{step_anchor}-els").check()
    page.emulate_media(media="print")
    page.evaluate("window.dispatchEvent(new Event('beforeprint'))")
    assert not page.locator(".ovl-toggle").first.is_visible()  # the control does not print
    boxes = page.evaluate(BOXES, step_anchor)
    assert boxes and all(b["visible"] for b in boxes) and all(_inside(b) for b in boxes)
    page.pdf()  # lays the page out for print: must not fail
    assert watch.clean(), watch.summary()


def test_element_numbers_work_without_javascript(located, browser, tmp_path) -> None:  # noqa: F811
    """The toggle is CSS (``:has(:checked)``); the script only swaps in the full-size picture."""
    made = located["runs/site_500_submit"]
    step = decisive_of(made["full_triage"]).step
    step_anchor = anchor_id("s", step.step_id)
    context = browser.new_context(java_script_enabled=False, viewport={"width": 1280, "height": 900})
    try:
        url = made["full_path"].resolve().as_uri()
        blocked: list[str] = []
        context.route("**/*", lambda route: route.continue_() if route.request.url == url
                      else (blocked.append(route.request.url), route.abort()))
        page = context.new_page()
        page.goto(url, wait_until="load")
        page.locator(f"#{step_anchor}-els").check()
        boxes = page.evaluate(BOXES, step_anchor)
        assert boxes and all(b["visible"] for b in boxes) and all(_inside(b) for b in boxes)
        assert blocked == []
    finally:
        context.close()


# --- issue 5: the support bundle's report -------------------------------------------------------------


def test_bundle_report_opens_clean_and_shows_no_secret(tmp_path, offline_page) -> None:  # noqa: F811
    source = RUNS / "login_401"
    expected = json.loads((source / "expected.json").read_text())
    raw = open_source(str(source))
    run = load_run(raw)
    bundle = tmp_path / "ticket.zip"
    build_bundle(raw, run, bundle)
    with zipfile.ZipFile(bundle) as archive:
        data = archive.read("report.html")
    report = tmp_path / "report.html"
    report.write_bytes(data)
    html = data.decode("utf-8")
    for kind, value in expected["secrets"].items():
        assert value not in html, kind

    page, watch = offline_page(report)
    assert page.locator("[data-testid=verdict-category]").inner_text() == expected["category"] == "AUTH_FAILURE"
    assert page.locator("[data-testid=verdict-cause]").inner_text() == expected["cause"] == "auth_rejected"
    text = page.inner_text("body")
    dom = page.content()
    for kind, value in expected["secrets"].items():
        assert value not in text, kind
        assert value not in dom, kind
    page.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")
    text = page.inner_text("body")
    for kind, value in expected["secrets"].items():
        assert value not in text, kind
    assert watch.clean(), watch.summary()
    assert len(watch.allowed) == 1


# --- the fleet overview (debugkit runs --html; tests/test_fleet.py has the checks without a browser) ----


def test_fleet_overview_opens_offline_with_hostile_text_and_report_links(tmp_path, offline_page) -> None:  # noqa: F811
    from urllib.parse import unquote

    from test_fleet import SCRIPT_PAYLOAD as FLEET_SCRIPT
    from test_fleet import hostile_runs

    from debugkit.cli import main

    runs = hostile_runs(tmp_path / "runs")
    page_path = tmp_path / "out" / "fleet.html"
    page_path.parent.mkdir()
    assert main(["runs", str(runs), "--html", str(page_path), "--reports", str(tmp_path / "out" / "r"), "--quiet"]) == 0
    page, watch = offline_page(page_path)
    assert page.evaluate("document.scripts.length") == 0
    assert page.evaluate("window.__pwned") is None
    assert page.evaluate("document.querySelectorAll('img').length") == 0
    rows = page.locator("#clusters tbody tr")
    assert rows.count() == 2
    assert "element_disabled" in rows.nth(0).inner_text() or "element_disabled" in rows.nth(1).inner_text()
    assert FLEET_SCRIPT in page.inner_text("#clusters")  # the button's text, shown as text
    page.locator("#clusters tbody tr a[href^='#']").first.click()
    assert page.evaluate("location.hash") == "#c1" and page.locator("#c1").is_visible()
    links = page.eval_on_selector_all("a[href]", "els => els.map(e => e.href)")
    files = {link.split("#")[0] for link in links} - {page_path.resolve().as_uri()}
    assert files and all(link.startswith("file://") for link in files)
    for link in files:
        assert Path(unquote(link.removeprefix("file://"))).is_file(), link
    page.wait_for_timeout(100)
    assert watch.clean(), watch.summary()
