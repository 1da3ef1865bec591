"""Give moto's DynamoDB the isolation real DynamoDB has: one API call applies atomically.

moto checks a condition and then writes without a lock, so two threads can both pass
`attribute_not_exists` or a compare-and-set. DynamoDB never allows that. Serialising moto's DynamoDB
actions makes the fake as strict as the real service, so concurrency tests test our code, not moto.
"""

from __future__ import annotations

import threading

_lock = threading.RLock()
_installed = False


def install() -> None:
    """Patch moto's DynamoDB handler once per process (idempotent)."""
    global _installed
    if _installed:
        return
    from moto.dynamodb.responses import DynamoHandler

    original = DynamoHandler.call_action

    def call_action(self):  # type: ignore[no-untyped-def]
        with _lock:
            return original(self)

    DynamoHandler.call_action = call_action
    _installed = True
