"""Failure windows for login and activation, updated with compare-and-set so no failure is lost;
and rate windows, taken from with one conditional atomic add."""

from __future__ import annotations

from pynamodb.exceptions import PutError, UpdateError

from chalicelib.domain.throttle import LOCK_SECONDS, WINDOW_SECONDS, FailureWindow, after_failure
from chalicelib.store import models
from chalicelib.store.errors import is_conditional_failure


def get(key: str) -> FailureWindow | None:
    """One GetItem; None when there is no recent failure."""
    try:
        item = models.Throttle.get(key)
    except models.Throttle.DoesNotExist:
        return None
    return FailureWindow(int(item.failures), int(item.window_start), int(item.locked_until))


def record_failure(key: str, now: int, known: FailureWindow | None) -> FailureWindow:
    """Count one failure; retries on a concurrent change so ten parallel failures count ten."""
    state = known
    for _ in range(20):
        current = state or FailureWindow()
        nxt = after_failure(current, now)
        item = models.Throttle(
            key,
            failures=nxt.failures,
            window_start=nxt.window_start,
            locked_until=nxt.locked_until,
            expires_at=now + WINDOW_SECONDS + LOCK_SECONDS,
        )
        if state is None:
            condition = models.Throttle.key.does_not_exist()
        else:
            condition = (models.Throttle.failures == current.failures) & (
                models.Throttle.window_start == current.window_start
            )
        try:
            item.save(condition=condition)
            return nxt
        except PutError as exc:
            if not is_conditional_failure(exc):
                raise
        state = _consistent(key)
    return state or FailureWindow()


def _consistent(key: str) -> FailureWindow | None:
    try:
        item = models.Throttle.get(key, consistent_read=True)
    except models.Throttle.DoesNotExist:
        return None
    return FailureWindow(int(item.failures), int(item.window_start), int(item.locked_until))


def clear(key: str) -> None:
    """Forget failures after a success."""
    models.Throttle(key).delete()


def take(key: str, amount: int, allowance: int, expires_at: int) -> bool:
    """Take `amount` from the window's allowance in one UpdateItem; False (nothing taken) when it
    would go over. Concurrent uploads cannot both slip through: the add is conditional."""
    T = models.Throttle
    try:
        T(key).update(
            actions=[T.used.add(amount), T.expires_at.set(expires_at)],
            condition=T.used.does_not_exist() | (T.used <= allowance - amount),
        )
    except UpdateError as exc:
        if is_conditional_failure(exc):
            return False
        raise
    return True
