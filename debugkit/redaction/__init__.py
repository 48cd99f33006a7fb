"""Redaction: one module for every output (terminal, JSON, HTML report, support bundle).

- :mod:`.collect` finds the secret values a run holds (typed into secret fields, headers,
  cookies, query and form values, JWTs, signed-URL signatures, the API key);
- :mod:`.redactor` replaces them with salted ``[REDACTED:<hash>]`` placeholders;
- :mod:`.verify` checks, fail closed, that none is left in a bundle;
- :mod:`.patterns` tells secret fields and removes secret-looking text by pattern;
- :mod:`.pipeline` runs collection and replacement between loading a run and analysing it.
"""

from debugkit.redaction.collect import Secret, collect_secrets, typed_secret_kind
from debugkit.redaction.pipeline import redact_run
from debugkit.redaction.redactor import RedactionPolicy, Redactor
from debugkit.redaction.verify import Leak, verify_members

__all__ = [
    "Leak",
    "RedactionPolicy",
    "Redactor",
    "Secret",
    "collect_secrets",
    "redact_run",
    "typed_secret_kind",
    "verify_members",
]
