"""Secret fields and secret-looking text, without knowing the values.

- :func:`is_secret_field` and :func:`mask` are :mod:`debugkit.redaction.policy`'s (kept here for
  older imports): which fields are secret and how a typed value is shown;
- :func:`redact_url` and :func:`redact_text` remove signatures, tokens and credentials by
  pattern (the HTML report applies them to everything it shows, on top of the value-based
  :class:`~debugkit.redaction.redactor.Redactor`).
"""

from __future__ import annotations

import re
from urllib.parse import unquote_plus, urlsplit, urlunsplit

from debugkit.redaction.policy import is_secret_field, mask

__all__ = ["REDACTED", "is_secret_field", "mask", "redact_text", "redact_url"]


# --- URLs and free text (used by the HTML report; the support bundle may build on these) -------

# A query holding any of these is a signed URL: the whole query string is removed.
_SIGNATURE_PARAM = re.compile(
    r"^(x-amz-[a-z-]+|x-goog-[a-z-]+|x-ms-[a-z-]+|signature|sig|hmac|policy|key-pair-id|googleaccessid|"
    r"se|sp|sv|sr|skoid|sktid|skt|ske|sks|skv)$",
    re.IGNORECASE,
)
# Parameters whose values are secrets (or parts of a signature) even in an unsigned URL.
_SECRET_PARAM = re.compile(
    r"token|secret|pass(word|wd)?$|^pwd$|api.?key|^key$|^apikey$|^auth|^code$|^otp$|session|^sid$|jwt|"
    r"credential|^expir(y|es)$|^kid$|^ticket$|^nonce$|^state$|^hash$",
    re.IGNORECASE,
)
REDACTED = "[redacted]"
# An http(s) URL that urlsplit/urlunsplit would give back unchanged with nothing to redact: lower-case
# scheme, a plain host (and port), a path of printable ASCII without spaces, and no "?", "#" or "@".
_PLAIN_URL = re.compile(r"https?://[A-Za-z0-9.-]+(?::[0-9]{1,5})?(?:/[!-\"$-/0->A-~]*)?\Z")
_URL_IN_TEXT = re.compile(r"\b(?:https?|wss?|ftp|file)://[^\s\"'<>`]+", re.IGNORECASE)
# A bearer credential: long, with at least one digit (so "Bearer of bad news" stays prose).
_BEARER = re.compile(r"\b(bearer)\s+(?=[A-Za-z0-9._~+/=-]*\d)[A-Za-z0-9._~+/=-]{12,}", re.IGNORECASE)
_JWT = re.compile(r"\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*")
_HEADER_LINE = re.compile(
    r"\b(cookie|set-cookie|authorization|proxy-authorization|x-csrf-token|x-xsrf-token|x-api-key|x-auth-token)"
    r"(\s*[:=]\s*)[^\r\n]+",
    re.IGNORECASE,
)
_SECRET_KEY = r"(password|passwd|pwd|secret|client_secret|api_?key|access_token|refresh_token|id_token|otp)"
# key=value (form bodies, query strings), "key": "value" (JSON) and key: "value"
_SECRET_PAIR = re.compile(
    rf"\b{_SECRET_KEY}(=|\"\s*:\s*|\s*:\s*(?=[\"']))(\"[^\"]*\"|'[^']*'|[^\s&,;]+)",
    re.IGNORECASE,
)


def redact_url(url: str) -> str:
    """The URL without secrets: a signed query string (S3/GCS/Azure/CloudFront/Skyvern ``sig``)
    is removed as a whole, secret-looking parameters (token, key, code, session, ...) keep their
    name but lose their value, and so does a password in the user-info part. The rest is kept
    as written, so the URL still says which request it was."""
    if not isinstance(url, str) or not url:
        return url
    if _PLAIN_URL.match(url):  # no query, fragment or user info: nothing to remove (most of a long run's URLs)
        return url
    try:
        parts = urlsplit(url)
        netloc = parts.netloc
    except ValueError:  # e.g. a broken IPv6 host: keep only what precedes the query
        head = re.split(r"[?#]", url, maxsplit=1)[0]
        return head + ("?" + REDACTED if head != url else "")
    if "@" in netloc:
        userinfo, _, host = netloc.rpartition("@")
        user = userinfo.split(":", 1)[0]
        netloc = f"{user}:{REDACTED}@{host}" if ":" in userinfo else f"{REDACTED}@{host}"
    query = _redact_query(parts.query)
    fragment = _redact_query(parts.fragment) if "=" in parts.fragment else parts.fragment
    return urlunsplit((parts.scheme, netloc, parts.path, query, fragment))


def _redact_query(query: str) -> str:
    if not query:
        return query
    pairs = [piece.partition("=") for piece in query.split("&")]
    names = [_unquote(name) for name, _, _ in pairs]
    if any(_SIGNATURE_PARAM.match(name) for name in names):
        return f"[signed query removed: {len(pairs)} parameters]"
    out = []
    for (name, eq, value), plain in zip(pairs, names, strict=True):
        if eq and value and _SECRET_PARAM.search(plain):
            value = REDACTED
        out.append(f"{name}{eq}{value}")
    return "&".join(out)


def _unquote(text: str) -> str:
    if "%" not in text and "+" not in text:
        return text.strip()
    return unquote_plus(text).strip()


def redact_text(text: str) -> str:
    """Free text (a failure reason, an exception, a console line) without the secrets it may
    quote: URLs go through :func:`redact_url`; bearer/basic credentials, JWTs, cookie and
    authorization header values and ``password=...``-style pairs are replaced."""
    if not isinstance(text, str) or not text:
        return text
    text = _URL_IN_TEXT.sub(lambda m: redact_url(m.group(0)), text)
    text = _HEADER_LINE.sub(lambda m: f"{m.group(1)}{m.group(2)}{REDACTED}", text)
    text = _BEARER.sub(lambda m: f"{m.group(1)} {REDACTED}", text)
    text = _JWT.sub(REDACTED, text)
    return _SECRET_PAIR.sub(lambda m: f"{m.group(1)}{m.group(2)}{REDACTED}", text)
