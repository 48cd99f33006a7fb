"""The Skyvern API client: one httpx connection pool, bounded retries, one-line errors.

The API key travels only in the ``x-api-key`` header and only to the configured server's
origin: never in a URL, a message, a log line or a file. Signed storage URLs on other origins
get no key.
"""

from __future__ import annotations

import os
import random
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
import orjson

from debugkit import __version__
from debugkit.errors import ApiError, ApiUnavailable, AuthError, NotFound

DEFAULT_BASE_URL = "https://api.skyvern.com"
MAX_RETRY_AFTER = 60.0
# What Skyvern answers (401/403) for a missing, wrong or expired key; "Could not validate credentials" is
# the real server's answer to a key it does not know.
AUTH_DETAILS = (
    None, "Invalid credentials", "Auth token is expired", "Not authenticated", "Could not validate credentials",
)


class ExpiredUrl(Exception):
    """A signed URL was refused as invalid or expired (internal: the fetcher mints a new one)."""


class TransferError(Exception):
    """Bytes could not be had after the retries (internal: the fetcher records a damaged artifact)."""


@dataclass(frozen=True)
class ApiConfig:
    base_url: str = DEFAULT_BASE_URL
    api_key: str | None = None
    timeout: float = 20.0  # per attempt: connecting, and each wait for bytes
    deadline: float = 45.0  # per request, every attempt and wait included: a dead server ends here
    retries: int = 4  # attempts after the first, for 5xx, 429 and dropped connections
    backoff: float = 0.25  # first backoff in seconds; doubles each retry, with full jitter
    max_backoff: float = 8.0
    concurrency: int = 8

    @classmethod
    def from_env(cls, base_url: str | None = None, api_key: str | None = None, **kwargs: Any) -> ApiConfig:
        url = base_url or os.environ.get("SKYVERN_BASE_URL") or DEFAULT_BASE_URL
        key = api_key or os.environ.get("SKYVERN_API_KEY") or None
        return cls(base_url=url.rstrip("/"), api_key=key, **kwargs)


class SkyvernClient:
    """A thin client over the routes debugkit needs. Thread-safe (httpx.Client is)."""

    def __init__(self, config: ApiConfig, transport: httpx.BaseTransport | None = None) -> None:
        self.config = config
        self._origin = _origin(config.base_url)
        limits = httpx.Limits(max_connections=max(config.concurrency, 1), max_keepalive_connections=config.concurrency)
        self._http = httpx.Client(
            timeout=httpx.Timeout(config.timeout, connect=min(config.timeout, 10.0)),
            limits=limits,
            headers={"user-agent": f"debugkit/{__version__}"},
            follow_redirects=True,
            transport=transport,
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> SkyvernClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- requests -------------------------------------------------------------------------------

    def get_json(self, path: str, params: dict[str, Any] | None = None, *, what: str) -> Any:
        """GET an API route and decode its JSON body; 4xx end the command with one line."""
        response = self._metadata_request(self.config.base_url + path, params=params, what=what)
        if response.status_code >= 400:
            raise self._api_error(response, what)
        try:
            return orjson.loads(response.content)
        except orjson.JSONDecodeError:
            raise ApiError(f"{what}: the server's answer is not JSON (HTTP {response.status_code})") from None

    def get_status(self, path: str, *, what: str) -> tuple[int, Any]:
        """GET a route that may legitimately refuse (e.g. a timeline of a task run): (status, body)."""
        response = self._metadata_request(self.config.base_url + path, what=what)
        try:
            body = orjson.loads(response.content) if response.content else None
        except orjson.JSONDecodeError:
            body = None
        if response.status_code in (401, 403) and _detail(body) != "Invalid or expired artifact URL":
            raise self._api_error(response, what)
        return response.status_code, body

    def get_bytes(self, url: str, *, what: str) -> bytes:
        """Download bytes from an API route or a signed URL, checking the body is complete.

        Raises ExpiredUrl for a refused signature, TransferError when the retries are spent,
        ApiError for auth failures.
        """
        if url.startswith("/"):
            url = self.config.base_url + url
        response = self._request(url, what=what, check_length=True)
        if response.status_code == 403:
            body = _json_or_none(response.content)
            detail = _detail(body) or ""
            if "expired" in detail.lower() or "signature" in detail.lower() or not self._same_origin(url):
                raise ExpiredUrl(detail or "HTTP 403")
            raise self._api_error(response, what)
        if response.status_code >= 400:
            if response.status_code in (401,):
                raise self._api_error(response, what)
            raise TransferError(f"HTTP {response.status_code}{_short_detail(response)}")
        return response.content

    # --- internals ------------------------------------------------------------------------------

    def _metadata_request(self, url: str, *, what: str, params: dict[str, Any] | None = None) -> httpx.Response:
        try:
            return self._request(url, what=what, params=params)
        except TransferError as exc:
            raise ApiUnavailable(f"{what}: could not get an answer from {self.config.base_url}: {exc}") from None

    def _same_origin(self, url: str) -> bool:
        return _origin(url) == self._origin

    def _request(
        self, url: str, *, what: str, params: dict[str, Any] | None = None, check_length: bool = False
    ) -> httpx.Response:
        headers = {"x-api-key": self.config.api_key} if self.config.api_key and self._same_origin(url) else {}
        started = time.monotonic()
        deadline = started + self.config.deadline
        attempt = 0
        last_problem = ""
        while True:
            remaining = max(deadline - time.monotonic(), 0.001)
            wait = min(self.config.timeout, remaining)
            timeout = httpx.Timeout(wait, connect=min(wait, 10.0))
            try:
                response = self._http.get(url, params=params, headers=headers, timeout=timeout)
                if check_length:
                    _check_length(response)
            except (httpx.TransportError, _Truncated) as exc:
                last_problem = _transport_problem(exc)
            else:
                if response.status_code == 429 or response.status_code >= 500:
                    last_problem = f"HTTP {response.status_code}{_short_detail(response)}"
                    if attempt >= self._max_attempts(response) or not self._sleep(attempt, response, deadline):
                        return response
                    attempt += 1
                    continue
                return response
            if attempt >= self.config.retries or not self._sleep(attempt, None, deadline):
                raise TransferError(self._gave_up(last_problem, attempt + 1, started))
            attempt += 1

    def _max_attempts(self, response: httpx.Response) -> int:
        # A 429 is the server pacing us: allow a couple more waits than for errors.
        return self.config.retries + (2 if response.status_code == 429 else 0)

    def _sleep(self, attempt: int, response: httpx.Response | None, deadline: float) -> bool:
        """Wait before the next attempt; False (no wait) when the wait and an attempt would pass the deadline."""
        delay = None
        if response is not None and response.status_code == 429:
            delay = _retry_after(response.headers.get("retry-after"))
            delay = min(delay, MAX_RETRY_AFTER) if delay is not None else None
        if delay is None:
            ceiling = min(self.config.max_backoff, self.config.backoff * (2**attempt))
            delay = random.uniform(ceiling / 2, ceiling)
        if time.monotonic() + delay >= deadline:
            return False
        time.sleep(delay)
        return True

    def _gave_up(self, problem: str, attempts: int, started: float) -> str:
        """What was tried, in one line: the last problem, the attempts, and the time limits."""
        spent = time.monotonic() - started
        return (
            f"{problem} (after {attempts} attempt(s) in {spent:.0f} s; each attempt waits up to "
            f"{self.config.timeout:g} s, a request {self.config.deadline:g} s in all)"
        )

    def _api_error(self, response: httpx.Response, what: str) -> ApiError:
        body = _json_or_none(response.content)
        detail = _detail(body)
        status = response.status_code
        if status in (401, 403) and detail in AUTH_DETAILS:
            if not self.config.api_key:
                return AuthError(
                    f"{what}: no API key: set SKYVERN_API_KEY (or pass --api-key) for {self.config.base_url}"
                )
            return AuthError(
                f"{what}: the server refused the API key (HTTP {status}: {detail or 'forbidden'}); "
                f"check SKYVERN_API_KEY for {self.config.base_url}"
            )
        if status == 404:
            return NotFound(f"{what}: not found on {self.config.base_url} (HTTP 404{': ' + detail if detail else ''})")
        if status >= 500 or status == 429:
            return ApiUnavailable(
                f"{what}: {self.config.base_url} kept failing (HTTP {status}{': ' + detail if detail else ''}); "
                "try again later"
            )
        return ApiError(f"{what}: HTTP {status}{': ' + detail if detail else ''}")


class _Truncated(Exception):
    pass


def _check_length(response: httpx.Response) -> None:
    declared = response.headers.get("content-length")
    encoding = response.headers.get("content-encoding")
    if declared and declared.isdigit() and not encoding and len(response.content) != int(declared):
        raise _Truncated(f"body cut short: {len(response.content)} of {declared} bytes")


def _transport_problem(exc: Exception) -> str:
    if isinstance(exc, _Truncated):
        return str(exc)
    if isinstance(exc, httpx.TimeoutException):
        return "timed out"
    if isinstance(exc, httpx.ConnectError):
        return "could not connect"
    if isinstance(exc, httpx.RemoteProtocolError):
        return "connection dropped mid-answer"
    return f"connection failed ({type(exc).__name__})"


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        return None  # an HTTP date: fall back to the backoff


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme.lower(), parts.netloc.lower()


def _json_or_none(data: bytes) -> Any:
    try:
        return orjson.loads(data) if data else None
    except orjson.JSONDecodeError:
        return None


def _detail(body: Any) -> str | None:
    if isinstance(body, dict):
        detail = body.get("detail", body.get("error"))
        if isinstance(detail, str):
            return detail
        if detail is not None:
            return orjson.dumps(detail).decode()[:200]
    return None


def _short_detail(response: httpx.Response) -> str:
    detail = _detail(_json_or_none(response.content))
    return f": {detail[:120]}" if detail else ""
