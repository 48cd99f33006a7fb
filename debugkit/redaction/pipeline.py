"""Redaction as a pipeline stage: between loading a run and analysing it, for every output."""

from __future__ import annotations

import os
from collections.abc import Iterable

from debugkit.model import ArtifactUnavailable, RawRun, RunData
from debugkit.redaction.collect import Secret, collect_secrets
from debugkit.redaction.redactor import RedactionPolicy, Redactor


def har_bytes(raw: RawRun) -> list[bytes]:
    """The run's HAR documents, read again for their headers (the parsed model keeps none)."""
    out = []
    for ref in raw.artifacts:
        if ref.artifact_type == "har":
            try:
                out.append(ref.read())
            except ArtifactUnavailable:
                continue  # already named as a problem by the loader
    return out


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
    secrets = collect_secrets(run, har_bytes(raw), known_api_keys(api_keys))
    kwargs = {"salt": salt} if salt is not None else {}
    redactor = Redactor(secrets, policy or RedactionPolicy(), **kwargs)
    return redactor.run(run), redactor, secrets
