"""Lock-out after repeated failures: ten wrong tries in fifteen minutes lock for fifteen minutes."""

from __future__ import annotations

from dataclasses import dataclass

MAX_FAILURES = 10
WINDOW_SECONDS = 15 * 60
LOCK_SECONDS = 15 * 60


@dataclass(frozen=True)
class FailureWindow:
    failures: int = 0
    window_start: int = 0
    locked_until: int = 0

    def locked(self, now: int) -> bool:
        return self.locked_until > now

    def retry_after(self, now: int) -> int:
        return max(1, self.locked_until - now)


def after_failure(state: FailureWindow, now: int) -> FailureWindow:
    """The window after one more failure at `now`: a stale window starts afresh."""
    if now - state.window_start >= WINDOW_SECONDS:
        failures, start = 1, now
    else:
        failures, start = state.failures + 1, state.window_start
    locked_until = now + LOCK_SECONDS if failures >= MAX_FAILURES else state.locked_until
    return FailureWindow(failures=failures, window_start=start, locked_until=locked_until)
