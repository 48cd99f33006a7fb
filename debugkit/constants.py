"""Facts about Skyvern that several parts of debugkit rely on, each stated once.

Run statuses (``GET /v1/runs/{run_id}``: ``status``) and artifact types (``artifact_type`` of an
artifact row) are Skyvern's own strings; see ``../shared/skyvern-artifacts.md`` and
``docs/run-folder.md``.
"""

from __future__ import annotations

# A run in one of these statuses is over: nothing about it changes any more (except the HAR and
# console log, written seconds later when the browser closes).
FINAL_STATUSES = frozenset({"timed_out", "failed", "terminated", "completed", "canceled"})

# The final statuses that mean the run did not do its job: what `debugkit runs` lists by default and
# what `debugkit serve` triages when Skyvern reports it.
FAILED_STATUSES: tuple[str, ...] = ("failed", "terminated", "timed_out")

# ZIPs Skyvern's bundled storage mode writes: one per step (scrape, element tree, LLM calls,
# screenshots) and one per task (HAR, console log, trace). Members are listed as rows with a
# ``bundle_key`` and the parent's ``uri``.
ARCHIVE_TYPES = frozenset({"step_archive", "task_archive"})

# The browser's own logs of the whole run, written when its context closes (after the final status).
NETWORK_LOG_TYPES = frozenset({"har", "browser_console_log"})

# Artifacts of the task as a whole rather than of one step (the final screenshot is attached to the
# task's last step): a fetch of one step still takes them.
RUN_LEVEL_TYPES = NETWORK_LOG_TYPES | {"task_archive", "screenshot_final"}
