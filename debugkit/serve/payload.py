"""What a Skyvern webhook delivery says: which run, and how it ended.

Skyvern posts the run's response when a run ends (the same shape as ``GET /v1/runs/{run_id}``):
``run_id``, ``run_type``, ``status``, ``failure_reason``, ... For a task it is the task response
(``task_id``, ``status``, ...) merged with the run response; older servers send the task response
alone (``task_id``) or, for a workflow run, the workflow run status (``workflow_run_id``, ``status``).
The run id is taken from ``run_id``, else ``task_id``, else ``workflow_run_id``; it must look like a
run id (``tsk_...``, ``wr_...``, ``tsk_v2_...``), since it names a folder on disk.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from debugkit.api.cache import looks_like_run_id
from debugkit.constants import FAILED_STATUSES

ID_KEYS = ("run_id", "task_id", "workflow_run_id")


class BadPayload(ValueError):
    """A signed delivery that names no run Skyvern could have sent (one line, never the body)."""


@dataclass(frozen=True)
class Delivery:
    run_id: str
    status: str
    run_type: str | None = None

    @property
    def failed(self) -> bool:
        """Failed, terminated or timed out: worth triaging."""
        return self.status in FAILED_STATUSES

    @property
    def key(self) -> tuple[str, str]:
        """Deliveries with the same run id and status are one (Skyvern retries, or a replay)."""
        return self.run_id, self.status


def parse_delivery(body: bytes) -> Delivery:
    """The run and status a delivery is about; raises BadPayload otherwise."""
    try:
        doc: Any = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise BadPayload("the body is not JSON") from None
    if not isinstance(doc, dict):
        raise BadPayload("the body is not a JSON object")
    run_id = next((doc[k] for k in ID_KEYS if isinstance(doc.get(k), str) and doc[k]), None)
    if run_id is None:
        raise BadPayload("no run_id, task_id or workflow_run_id")
    if not looks_like_run_id(run_id) or len(run_id) > 100:
        raise BadPayload("the run id is not one Skyvern gives (tsk_..., wr_..., tsk_v2_...)")
    status = doc.get("status")
    if not isinstance(status, str) or not status or len(status) > 40 or not status.replace("_", "").isalpha():
        raise BadPayload("no run status")
    run_type = doc.get("run_type") if isinstance(doc.get("run_type"), str) else None
    return Delivery(run_id=run_id, status=status, run_type=run_type)
