"""A long, busy run for the scale benchmark: 40 steps and 30,000 requests, written by the fixture generator.

``build_long_run(folder, steps=40, requests=30_000)`` writes a run folder in Skyvern's bundled storage
mode (the HAR and console log inside the ``task_archive`` ZIP, each step's files in its
``step_archive``), as a real long checkout would leave it:

- every step is a distinct catalogue page (its own title, text and screenshots) where the agent
  clicks **Next page** (``AAAK``); the last step types the name and the card number (a secret field)
  and clicks **Submit order**, whose ``POST /api/order`` answers 500 (the cause to find);
- each step's click loads about ``requests / steps`` requests spread over its window: the page's
  scripts, style sheets, images, fonts and API calls, about 85% 200, 5% 304, 3% 404 (assets and
  GET data), 2% 500 on images, 5% that never got a status (``net::ERR_ABORTED`` and friends, or
  pending);
- headers as Chromium sends them (HTTP/2, lower-case, sorted); a session cookie on half the requests
  and a bearer token and a ``session_token`` query parameter on the API calls (one of each per step:
  a page's requests share them); signed CDN URLs (``X-Amz-Signature``) on some images, each its own;
  ``set-cookie`` on a few answers; the order's form with a card number and a CSRF token: so
  redaction has real work to do (about 1,000 distinct secret values).

Nothing random but a seeded ``random.Random``: the same arguments give the same bytes.
"""

from __future__ import annotations

import importlib.util
import json
import random
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parent.parent


def generator() -> ModuleType:
    """``fixtures/generate.py`` as a module (it is a script, not a package)."""
    if "fixture_generate" in sys.modules:
        return sys.modules["fixture_generate"]
    spec = importlib.util.spec_from_file_location("fixture_generate", ROOT / "fixtures" / "generate.py")
    assert spec is not None and spec.loader is not None
    gen = importlib.util.module_from_spec(spec)
    sys.modules["fixture_generate"] = gen
    spec.loader.exec_module(gen)
    return gen


_ASSETS = [
    # (weight, path template, kind, mime)
    (8, "/static/js/chunk-{n}.js", "script", "text/javascript"),
    (4, "/static/css/app-{n}.css", "stylesheet", "text/css"),
    (10, "/img/product-{n}.webp", "image", "image/webp"),
    (9, "/api/v2/items/{n}?page={p}&sort=price&session_token={token}", "fetch", "application/json"),
    (2, "/fonts/inter-{n}.woff2", "font", "font/woff2"),
]
_FAILURES = ["net::ERR_ABORTED", "net::ERR_CONNECTION_RESET", "net::ERR_NAME_NOT_RESOLVED", "net::ERR_FAILED"]


def catalogue_doc(gen: ModuleType, page: int, name: str = "", card: str = "", error: bool = False):
    """Catalogue page ``page``: products, a pager (Next page is AAAK) and the checkout form."""
    N = gen.N  # noqa: N806 - the generator's element class
    products = [f"Trail item {page * 4 + k}: {['jacket', 'boots', 'tent', 'stove'][k]} ${39 + 7 * k}.00"
                for k in range(4)]
    return gen.Doc(gen.SHOP + f"/catalogue?page={page}", f"Northwind Outfitters - page {page + 1}", [
        N("h1", f"Catalogue page {page + 1}"),                                        # AAAB
        N("p", products[0], class_="muted"),                                           # AAAC
        N("p", products[1], class_="muted"),                                           # AAAD
        N("p", products[2], class_="muted"),                                           # AAAE
        N("p", products[3], class_="muted"),                                           # AAAF
        N("form", "",
          N("label", "Name on card", for_="name"),                                     # AAAH
          N("input", id="name", name="name", type="text", placeholder="Name on card",
            autocomplete="cc-name", _value=name, _uid="AAAI"),                                      # AAAI
          N("label", "Card number", for_="card"),                                      # AAAJ
          N("input", id="card", name="card", type="password", autocomplete="cc-number",
            placeholder="1234 1234 1234 1234", _value=card, _uid="AAAK"),                           # AAAK
          N("button", "Submit order", id="submit", type="submit", _uid="AAAL"),                     # AAAL
          id="checkout"),
        N("a", "Next page", href=f"/catalogue?page={page + 1}", id="next", _uid="AAAM"),           # AAAM
        N("div", "We couldn't place your order." if error else "", id="msg", role="alert", _hidden=not error),
    ], doc_id=f"catalogue{page}#1", stylesheets=(f"/static/css/app-{page}.css",))


def _requests(gen: ModuleType, rng: random.Random, count: int, span: float, first: int) -> list:
    """``count`` requests spread over ``span`` seconds, numbered from ``first``.

    Secrets repeat as they do in a browser: one session cookie, bearer token and query token per
    step (a page's requests share them), while some images come from a CDN by a signed URL of their own.
    """
    Req = gen.Req  # noqa: N806
    out = []
    weights = [a[0] for a in _ASSETS]
    session = f"{rng.getrandbits(96):024x}"
    bearer = f"tok_{rng.getrandbits(128):032x}"
    token = f"{rng.getrandbits(64):016x}"
    for i in range(count):
        n = first + i
        _, template, kind, mime = rng.choices(_ASSETS, weights=weights)[0]
        path = template.format(n=n, p=n % 7, token=token)
        if kind == "image" and rng.random() < 0.15:  # a signed CDN URL, its own signature
            path += f"?X-Amz-Expires=3600&X-Amz-Signature={rng.getrandbits(256):064x}"
        roll = rng.random()
        status: int | None = 200
        failure = None
        if roll >= 0.95:
            status = None
            failure = rng.choice(_FAILURES) if rng.random() < 0.7 else None
        elif roll >= 0.93:
            status = 500 if kind == "image" else 200
        elif roll >= 0.90:
            status = 404 if kind != "fetch" else 200
        elif roll >= 0.85:
            status = 304
        host = gen.SHOP if kind in ("fetch", "document") else rng.choice(
            ["https://cdn.shop.example.com", "https://img.shop.example.com", "https://fonts.example.net"])
        req_headers = []
        if rng.random() < 0.5:
            req_headers.append(("Cookie", f"session={session}; cart={n % 5}"))
        if kind == "fetch":
            req_headers.append(("Authorization", f"Bearer {bearer}"))
        resp_headers = [("ETag", f'W/"{rng.getrandbits(64):x}"'), ("X-Request-Id", f"{rng.getrandbits(128):032x}")]
        if rng.random() < 0.01:
            resp_headers.append(("Set-Cookie", f"sid={rng.getrandbits(96):024x}; Path=/; Secure; HttpOnly"))
        out.append(Req(
            round(span * (i + 0.5) / count, 4), "GET", host + path, status, kind=kind, failure=failure,
            mime=mime, size=rng.randint(200, 90_000), wait=round(rng.uniform(2, 400), 1),
            req_headers=req_headers, resp_headers=resp_headers,
        ))
    return out


def build_long_run(
    folder: Path, *, steps: int = 40, requests: int = 30_000, indent: bool = False, seed: int = 12
) -> str:
    """Write the run folder; return its run id. The HAR is compact (as Skyvern's redaction re-serialises
    it) unless ``indent`` (as Playwright writes it)."""
    gen = generator()
    indented = gen.playwright_har_json
    if not indent:
        gen.playwright_har_json = lambda doc: json.dumps(doc, separators=(",", ":"), ensure_ascii=False)
    try:
        return _build(gen, folder, steps, requests, seed)
    finally:
        gen.playwright_har_json = indented


def _build(gen: ModuleType, folder: Path, steps: int, requests: int, seed: int) -> str:
    rng = random.Random(seed)
    b = gen.RunBuilder(
        "bench_long", t0=gen.T("2026-11-02T09:14:03.220511"), seq0=410_000_000, bundled=True, max_steps=steps,
        title="bench long run", url=gen.SHOP + "/catalogue?page=0",
        goal="Browse the catalogue to its last page, then pay with the name Jane Doe and card number "
             "4242 4242 4242 4242 and click Submit order.",
    )
    b.open(catalogue_doc(gen, 0), reqs=[
        gen.Req(0, "GET", "/catalogue?page=0", 200, kind="document", mime="text/html; charset=utf-8", size=4410),
    ])
    per_step = max(1, requests // steps)
    extra = requests - per_step * steps
    made = 0
    for order in range(steps):
        count = per_step + (extra if order == steps - 1 else 0)
        span = 8.0
        if order < steps - 1:
            net = _requests(gen, rng, count, span, made)
            made += count
            b.step(
                doc=catalogue_doc(gen, order), stage=f"On catalogue page {order + 1}.", plan="Go to the next page.",
                acts=[gen.click("AAAM", "Next page moves on.", "What moves to the next page?", "Next page",
                                dur=span + 0.5, after=catalogue_doc(gen, order + 1), net=net)],
                check=gen.Check(False, f"Catalogue page {order + 2} is shown."),
            )
            continue
        net = _requests(gen, rng, count - 1, span, made)
        net.append(gen.Req(span / 2, "POST", "/api/order", 500, post_mime="application/x-www-form-urlencoded",
                           post_params=[("name", "Jane Doe"), ("card_password", "4242 4242 4242 4242"),
                                        ("csrf_token", f"{rng.getrandbits(128):032x}")],
                           post_size=96, size=88, wait=412.3))
        net.sort(key=lambda r: r.at)
        filled = dict(name="Jane Doe", card="4242 4242 4242 4242")
        b.step(
            doc=catalogue_doc(gen, order), stage="On the last page; paying.", plan="Fill the form, Submit order.",
            acts=[
                gen.type_in("AAAI", "Jane Doe", "Name on card", "Checkout needs the name.", "What name?"),
                gen.type_in("AAAK", "4242 4242 4242 4242", "Card number", "Checkout needs a card.", "Which card?"),
                gen.click("AAAL", "Submit order places it.", "What places the order?", "Submit order",
                          dur=span + 0.5, after=catalogue_doc(gen, order, **filled, error=True), net=net,
                          logs=[gen.Log(span / 2 + 0.4, "error", "Failed to load resource: the server responded "
                                        "with a status of 500 ()", gen.SHOP + "/api/order")]),
            ],
            check=gen.Check(False, "The page shows an error instead of a confirmation."),
        )
    b.finish_max_steps(
        "The order was never confirmed.",
        [{"category": "WRONG_PAGE_STATE", "confidence_float": 0.6, "reasoning": "An error message is shown."}],
        "Checkout form with an error message.",
    )
    last = b.steps[steps - 1]
    b.expect(cause="site_server_error", category="WEBSITE_ERROR", why="bench run", decisive=(last, 2))
    gen.write_files(folder, b.documents())
    return b.id
