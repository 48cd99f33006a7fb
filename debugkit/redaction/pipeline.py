"""Redaction as a pipeline stage: between loading a run and analysing it, for every output."""

from __future__ import annotations

import os
from collections.abc import Iterable

from debugkit.model import ArtifactUnavailable, RawRun, RunData
from debugkit.redaction.collect import Secret, collect_secrets
from debugkit.redaction.redactor import RedactionPolicy, Redactor


def har_bytes(raw: RawRun) -> list[bytes]:
    """The run's HAR documents, read again for their headers: only for a run whose HAR secrets were not
    collected when it was loaded (``RunData.har_secrets`` is None)."""
    out = []
    for ref in raw.artifacts:
        if ref.artifact_type == "har":
            try:
                out.append(ref.read())
            except ArtifactUnavailable:
                continue  # already named as a problem by the loader
    return out


def run_secrets(raw: RawRun, run: RunData, api_keys: Iterable[str | None] = ()) -> list[Secret]:
    """Every secret value of the run (:func:`~debugkit.redaction.collect.collect_secrets`), its HAR's found
    when it was loaded; read again only when they were not."""
    documents = har_bytes(raw) if run.har_secrets is None else None
    return collect_secrets(run, documents, known_api_keys(api_keys))


def known_api_keys(extra: Iterable[str | None] = ()) -> list[str]:
    keys = [os.environ.get("SKYVERN_API_KEY"), *extra]
    return [k for k in keys if k]


def redact_run(
    raw: RawRun,
    run: RunData,
    *,
    policy: RedactionPolicy | None = None,
    api_keys: Iterable[str | None] = (),
    salt: bytes | None = None,
) -> tuple[RunData, Redactor, list[Secret]]:
    """The run with every secret replaced, the redactor (for more members) and what was found."""
    secrets = run_secrets(raw, run, api_keys)
    kwargs = {"salt": salt} if salt is not None else {}
    redactor = Redactor(secrets, policy or RedactionPolicy(), **kwargs)
    return redactor.run(run), redactor, secrets
