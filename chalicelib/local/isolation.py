"""Give moto's DynamoDB the isolation and cost of real DynamoDB.

1. moto checks a condition and then writes without a lock, so two threads can both pass
   `attribute_not_exists` or a compare-and-set; DynamoDB never allows that. Serialising moto's
   DynamoDB actions makes the fake as strict as the real service, so concurrency tests test our
   code, not moto.
2. moto's TransactWriteItems deep-copies every table it touches (all items and stream records) to
   be able to roll back: with the department tree seeded that is ~3,500 items per registration.
   Instead we snapshot only the items the transaction addresses and the stream lengths, and put
   them back if it is cancelled. Same outcome, a hundred times cheaper.
"""

from __future__ import annotations

import copy
import threading
import types
from typing import Any

_lock = threading.RLock()
_installed = False


def install() -> None:
    """Patch moto's DynamoDB handler and backend once per process (idempotent)."""
    global _installed
    if _installed:
        return
    import moto.dynamodb.models as backend_module
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.table import Table
    from moto.dynamodb.responses import DynamoHandler

    original_call = DynamoHandler.call_action

    def call_action(self):  # type: ignore[no-untyped-def]
        with _lock:
            return original_call(self)

    DynamoHandler.call_action = call_action

    # moto's transact_write_items only deep-copies Table objects through this module's `copy`
    backend_module.copy = types.SimpleNamespace(
        deepcopy=lambda obj, *a: obj if isinstance(obj, Table) else copy.deepcopy(obj, *a),
        copy=copy.copy,
    )
    original_transact = DynamoDBBackend.transact_write_items

    def transact_write_items(self, transact_items: list[dict[str, Any]]) -> None:  # type: ignore[no-untyped-def]
        with _lock:
            snapshot = _snapshot(self, transact_items)
            try:
                original_transact(self, transact_items)
            except Exception:
                _restore(snapshot)
                raise

    DynamoDBBackend.transact_write_items = transact_write_items
    _installed = True


def _snapshot(backend: Any, transact_items: list[dict[str, Any]]) -> list:
    from moto.dynamodb.models.dynamo_type import DynamoType

    saved = []
    for entry in transact_items:
        _, op = next(iter(entry.items()))
        table = backend.tables.get(op.get("TableName"))
        if table is None:
            continue
        key = op.get("Key") or op.get("Item") or {}
        if table.hash_key_attr not in key:
            continue
        hash_value = DynamoType(key[table.hash_key_attr])
        range_value = None
        if table.range_key_attr:
            if table.range_key_attr not in key:
                continue
            range_value = DynamoType(key[table.range_key_attr])
        current = table.get_item(hash_value, range_value)
        stream_len = len(table.stream_shard.items) if table.stream_shard is not None else None
        saved.append((table, hash_value, range_value, copy.deepcopy(current), stream_len))
    return saved


def _restore(saved: list) -> None:
    for table, hash_value, range_value, item, stream_len in reversed(saved):
        if range_value is None:
            if item is None:
                table.items.pop(hash_value, None)
            else:
                table.items[hash_value] = item
        else:
            bucket = table.items[hash_value]
            if item is None:
                bucket.pop(range_value, None)
            else:
                bucket[range_value] = item
        if stream_len is not None and table.stream_shard is not None:
            del table.stream_shard.items[stream_len:]
