"""Memory-hungry image work while placing elements: at most the budget's slots at once, never waiting on itself."""

from __future__ import annotations

import threading
import time

import pytest

from debugkit.locate import heavy


def test_heavy_work_runs_one_at_a_time_with_one_slot(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(heavy, "_budget", threading.BoundedSemaphore(1))
    running, most, lock = [0], [0], threading.Lock()

    @heavy.heavy
    def work() -> None:
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        time.sleep(0.01)
        with lock:
            running[0] -= 1

    threads = [threading.Thread(target=lambda: [work() for _ in range(5)]) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert most[0] == 1 and not any(thread.is_alive() for thread in threads)


def test_nested_heavy_work_does_not_wait_for_itself(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(heavy, "_budget", threading.BoundedSemaphore(1))

    @heavy.heavy
    def inner() -> str:
        return "done"

    @heavy.heavy
    def outer() -> str:
        with heavy.heavy_work():
            return inner()

    result: list[str] = []
    thread = threading.Thread(target=lambda: result.append(outer()))
    thread.start()
    thread.join(5)
    assert result == ["done"]
    with heavy.heavy_work():  # the slot was given back
        pass
