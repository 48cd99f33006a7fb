"""Where the element was, in the HTML report, without a browser: no crop without locations, a location
that was not found shows its reason as escaped text, crops count in the image budget.

The checks in a real headless Chromium (crops, the "element numbers" overlay, printing, the support
bundle's report.html) are in ``tests/test_report_html.py``: the ``browser`` fixture of
``tests/browser.py`` is session-scoped and Playwright's sync API runs once per thread, so every test
that opens a page lives in that one module.
"""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

from PIL import Image
from triaged import as_recorded

from debugkit.analysis.triage import Triage
from debugkit.locate import Location
from debugkit.report.html import anchor_id, render_html
from debugkit.report.images import ImageSet

ROOT = Path(__file__).resolve().parent.parent
RUNS = ROOT / "fixtures" / "runs"


def triage_of(source: str | Path, **kwargs: Any) -> Triage:
    """The analysed model the reporters read, of the run as recorded (tests/triaged.py)."""
    return as_recorded(source, **kwargs).analysis


def decisive_of(t: Triage):
    return t.diagnosis.decisive or t.diagnosis.failing.view


def parse_tags(html: str) -> list[tuple[str, dict[str, str | None]]]:
    from html.parser import HTMLParser

    tags: list[tuple[str, dict[str, str | None]]] = []

    class Parser(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            tags.append((tag, dict(attrs)))

    Parser().feed(html)
    return tags


# --- without a browser ----------------------------------------------------------------------------------


def test_report_without_locations_has_no_crop_and_no_overlay() -> None:
    t = triage_of(RUNS / "site_500_submit")
    assert t.locations == {}
    html = render_html(t)
    classes = {c for _, attrs in parse_tags(html) for c in (attrs.get("class") or "").split()}
    assert not classes & {"where", "crop", "crop-link", "els-toggle", "ovl", "ob", "has-ovl", "ovl-summary"}
    assert "Where it was" not in html
    assert not re.search(r"\.ob\.o[xywh]\d+\{", html)  # no generated overlay rules either


def test_a_location_that_was_not_found_shows_its_reason_as_text() -> None:
    t = triage_of(RUNS / "site_500_submit")
    view = decisive_of(t)
    reason = 'AAAH is inside iframe <script>alert(1)</script>"><img src=x onerror=alert(1)>'
    t.locations[(view.step.step_id, view.action.index)] = Location.unknown(reason)
    html = render_html(t)
    assert "<script>alert(1)" not in html and "<img src=x" not in html
    assert "location unknown: AAAH is inside iframe &lt;script&gt;alert(1)&lt;/script&gt;" in html
    card = html.split(f'id="{anchor_id("a", view.step.step_id, view.action.index)}"', 1)[1].split("</article>", 1)[0]
    where = card.split('class="where unknown"', 1)[1].split("</div>")[0]
    assert "<img" not in where and "location unknown" in where
    assert 'class="els-toggle"' not in html  # nothing placed: no overlay to switch on


def test_crops_count_in_the_image_budget() -> None:
    picture = io.BytesIO()
    Image.effect_noise((300, 200), 80).convert("RGB").save(picture, "WEBP", quality=80)
    data = picture.getvalue()

    roomy = ImageSet(budget=10**9)
    roomy.add_crop("a", lambda: data)
    roomy.add_crop("a", lambda: data)  # the same picture shown twice: made once, counted twice
    roomy.add_crop("bad", lambda: b"not a picture")
    roomy.add_crop("none", lambda: None)
    roomy.encode()
    crop = roomy.get_crop("a")
    assert crop.src and crop.src.startswith("data:image/webp;base64,") and (crop.width, crop.height) == (300, 200)
    assert roomy.total_size == roomy.crop_size == 2 * len(crop.src)
    assert roomy.get_crop("bad").error and roomy.get_crop("none").error and roomy.get_crop("bad").src is None

    tight = ImageSet(budget=10**9, crop_budget=1)  # over the crops' share: left out, said so
    tight.add_crop("essential", lambda: data, essential=True)  # the decisive action's: always in
    tight.add_crop("other", lambda: data)
    tight.encode()
    assert tight.get_crop("essential").src and not tight.get_crop("essential").omitted
    assert tight.get_crop("other").src is None and tight.get_crop("other").omitted
