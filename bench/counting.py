"""Count AWS API calls (service, operation) with a botocore `before-call` event hook.

Where to hook: botocore copies a session's event handlers into each client when the client is
created, and PynamoDB builds its own botocore session per thread (`pynamodb.connection.base.
Connection.session` calls `botocore.session.get_session()`) and one client per model class. A
handler on boto3's default session would therefore miss every PynamoDB call. `CallCounter.install()`
wraps `botocore.session.Session.create_client`, so every client made afterwards, by whichever
session, gets the hook (registered once per client through a `unique_id`).

`before-call` fires once per API call, before botocore's retry loop: a retried call counts once.
Install before any client exists; the bench checks that a boto3 GetItem and a PynamoDB get both
count exactly one call before trusting the figures.

DynamoDB write calls also record how many items they write: `items_written` reads the count from
the call's parameters (a `before-parameter-build` hook) and it is booked when the answer arrives
(`after-call`): a refused call (a cancelled transaction, a failed condition) wrote nothing, and a
BatchWriteItem's unprocessed items were not written. `CallCounter.writes()` gives them per operation.
`CallCounter.timings()` gives the time from each call's `before-call` to its `after-call` (moto's
work, the answer's parsing; not the building of the request), per (service, operation).
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

HOOK_ID = "mmp-bench-call-counter"
_ITEMS = "mmp_bench_items"  # keys in botocore's per-call request context
_STARTED = "mmp_bench_started"
WRITE_OPERATIONS = frozenset({"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"})


def items_written(operation: str, params: dict) -> int:
    """Items a DynamoDB call writes: 1 for Put/Update/DeleteItem, every request of a BatchWriteItem,
    every Put, Update and Delete of a TransactWriteItems (ConditionChecks write nothing); 0 otherwise."""
    if operation in ("PutItem", "UpdateItem", "DeleteItem"):
        return 1
    if operation == "BatchWriteItem":
        return sum(len(requests) for requests in (params.get("RequestItems") or {}).values())
    if operation == "TransactWriteItems":
        return sum(1 for t in params.get("TransactItems") or () if "ConditionCheck" not in t)
    return 0


class CallCounter:
    """Records every API call of every botocore client created after `install()`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.calls: list[tuple[str, str]] = []
        self.clients: list[str] = []
        self.written: list[tuple[str, int]] = []  # (DynamoDB write operation, items), in call order
        self.timed: list[tuple[tuple[str, str], float]] = []  # ((service, operation), ms), in call order
        self._original: Callable | None = None

    def install(self) -> None:
        import botocore.session

        if self._original is not None:
            return
        original = botocore.session.Session.create_client
        counter = self

        def create_client(session: Any, *args: Any, **kwargs: Any) -> Any:
            client = original(session, *args, **kwargs)
            counter.hook(client)
            return client

        create_client.__wrapped__ = original  # type: ignore[attr-defined]
        botocore.session.Session.create_client = create_client  # type: ignore[method-assign]
        self._original = original

    def uninstall(self) -> None:
        import botocore.session

        if self._original is not None:
            botocore.session.Session.create_client = self._original  # type: ignore[method-assign]
            self._original = None

    def hook(self, client: Any) -> None:
        """Count the calls of one (existing) client too."""
        events = client.meta.events
        events.register("before-call", self._on_call, unique_id=HOOK_ID)
        events.register("after-call", self._on_answer, unique_id=f"{HOOK_ID}-answer")
        if client.meta.service_model.service_name == "dynamodb":
            events.register("before-parameter-build", self._on_params, unique_id=f"{HOOK_ID}-params")
        with self._lock:
            self.clients.append(client.meta.service_model.service_name)

    def _on_params(self, params: dict, model: Any, context: dict | None = None, **_: Any) -> None:
        if context is not None and model.name in WRITE_OPERATIONS:
            context[_ITEMS] = items_written(model.name, params)

    def _on_call(self, model: Any, context: dict | None = None, **_: Any) -> None:
        with self._lock:
            self.calls.append((model.service_model.service_name, model.name))
        if context is not None:
            context[_STARTED] = time.perf_counter()

    def _on_answer(
        self, http_response: Any, parsed: dict, model: Any, context: dict | None = None, **_: Any
    ) -> None:
        if context is None:
            return
        if _STARTED in context:
            ms = (time.perf_counter() - context.pop(_STARTED)) * 1000
            with self._lock:
                self.timed.append(((model.service_model.service_name, model.name), ms))
        if _ITEMS not in context:
            return
        items = context.pop(_ITEMS)
        if getattr(http_response, "status_code", 200) >= 300:
            items = 0
        elif model.name == "BatchWriteItem":
            items -= sum(len(r) for r in (parsed.get("UnprocessedItems") or {}).values())
        with self._lock:
            self.written.append((model.name, items))

    @contextmanager
    def window(self) -> Iterator[Counter]:
        """The calls made inside the `with` block, as a Counter of (service, operation)."""
        start = len(self.calls)
        tally: Counter = Counter()
        try:
            yield tally
        finally:
            with self._lock:
                tally.update(self.calls[start:])

    @contextmanager
    def writes(self) -> Iterator[Counter]:
        """DynamoDB items written inside the `with` block, as a Counter of write operation -> items."""
        start = len(self.written)
        tally: Counter = Counter()
        try:
            yield tally
        finally:
            with self._lock:
                for operation, items in self.written[start:]:
                    tally[operation] += items

    @contextmanager
    def timings(self) -> Iterator[Counter]:
        """Milliseconds spent in the calls made inside the `with` block, per (service, operation)."""
        start = len(self.timed)
        tally: Counter = Counter()
        try:
            yield tally
        finally:
            with self._lock:
                for key, ms in self.timed[start:]:
                    tally[key] += ms


def by_service(tally: Counter, service: str) -> Counter:
    """Operation -> count for one service (`dynamodb`, `cognito-idp`)."""
    return Counter({op: n for (svc, op), n in tally.items() if svc == service})


def others(tally: Counter, *known: str) -> Counter:
    """`service:Operation` -> count for the services not in `known`."""
    return Counter({f"{svc}:{op}": n for (svc, op), n in tally.items() if svc not in known})


def describe(ops: Counter) -> str:
    """`TransactGetItems 1, TransactWriteItems 1` (or `-` for none)."""
    return ", ".join(f"{op} {n}" for op, n in sorted(ops.items())) or "-"
