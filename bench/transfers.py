"""Transfers in `make bench` (issue 3): DynamoDB calls per transfer create (temporary and formal) and
per accept, and the DynamoDB writes of the two transfers-stream consumers per 100 stream records.

Runs in its own `mock_aws` with the same setup as the other areas, plus `chalicelib.local.isolation`
(as the tests and the local stack use it): every transfer step is one transaction touching the orgs
table, which holds all seeded departments, and moto would otherwise deep-copy it each time.

Each round a fresh member of a Beijing branch asks for a temporary transfer to one Shanghai branch
(counted), then a formal one to another (counted), which that branch's secretary accepts (counted).
Every round leaves three changes on the transfers table's stream: a temporary transfer that took
effect at once, a pending formal transfer, and the same formal transfer taking effect.

The stream is read with `StreamTail` as the tests do, and its first 100 records are handed to the
consumers `transfer_filing` and `transfer_stats` through `client.lambda_.invoke` (one Lambda batch,
`batch_size=100`), with the DynamoDB calls and the items they write counted. The same batch is then
delivered a second time, as Lambda may, and counted again (for information: nothing may change).
"""

from __future__ import annotations

import contextlib
import statistics
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from bench.counting import WRITE_OPERATIONS, CallCounter, by_service
from bench.operations import (
    ADMIN_PASSWORD,
    BenchError,
    LineSink,
    Operation,
    Sample,
    Target,
    _Api,
    _setup,
)

HOME_COUNTY = "div-110105"  # 北京市朝阳区
AWAY_COUNTY = "div-310101"  # 上海市黄浦区
BATCH = 100  # the consumers' batch_size
TARGETS = {
    "create, temporary": Target(3, "≤ 3"),
    "create, formal": Target(3, "≤ 3"),
    "accept": Target(3, "≤ 3"),
}
CONSUMERS = ("transfer_filing", "transfer_stats")


@dataclass
class ConsumerRun:
    """One delivery of a batch of stream records to one consumer."""

    consumer: str
    delivery: str  # "first" or "again"
    records: int
    effective: int  # records of a transfer taking effect (what filing files)
    calls: Counter  # (service, operation) -> calls
    items: Counter  # write operation -> items written
    ms: float
    failures: int

    def ddb(self) -> Counter:
        return by_service(self.calls, "dynamodb")

    def write_calls(self) -> int:
        return sum(n for op, n in self.ddb().items() if op in WRITE_OPERATIONS)

    def items_written(self) -> int:
        return sum(self.items.values())

    def per_100(self, value: float) -> float:
        return value * 100 / self.records if self.records else 0.0


@dataclass
class TransferResult:
    operations: list[Operation]
    consumers: list[ConsumerRun] = field(default_factory=list)
    changes: Counter = field(default_factory=Counter)  # what the batch's records say, see _change
    stream_records: int = 0
    baseline_ms: float = 0.0
    total_seconds: float = 0.0
    log_lines: int = 0

    def failed(self) -> list[str]:
        out = [op.name for op in self.operations if op.passed() is False]
        out += [f"{c.consumer} ({c.failures} failed records)" for c in self.consumers if c.failures]
        return out


def run(counter: CallCounter, n: int = 50, warmup: int = 5) -> TransferResult:
    from moto import mock_aws

    from chalicelib.local.isolation import install

    install()
    sink = LineSink()
    with contextlib.redirect_stdout(sink), mock_aws():
        result = _run(counter, n, warmup)
    result.log_lines = sink.lines
    return result


def _change(record: dict) -> str:
    """What a transfers stream record says: `formal pending → effective`, `temporary new → effective`..."""
    ddb = record.get("dynamodb") or {}
    new, old = ddb.get("NewImage") or {}, ddb.get("OldImage") or {}

    def field(image: dict, name: str) -> str | None:
        return (image.get(name) or {}).get("S")

    kind = field(new, "kind") or field(old, "kind") or "?"
    return f"{kind} {field(old, 'status') or 'new'} → {field(new, 'status') or 'removed'}"


def _effective(change: str) -> bool:
    """A change by which a transfer took effect (what filing files)."""
    return change.endswith("→ effective") and " effective →" not in change


def _run(counter: CallCounter, n: int, warmup: int) -> TransferResult:
    import boto3
    from chalice.test import Client

    from bench.branches import _member

    started = time.perf_counter()
    admin = _setup()
    from app import app
    from chalicelib.config import get_settings
    from chalicelib.local.pump import StreamTail

    settings = get_settings()
    ddb = boto3.client("dynamodb")
    orgs_table = settings.table("orgs")

    def bare_get() -> float:
        t0 = time.perf_counter()
        ddb.get_item(TableName=orgs_table, Key={"org_id": {"S": "central"}})
        return (time.perf_counter() - t0) * 1000

    ops = {
        name: Operation(name, req, TARGETS.get(name))
        for name, req in [
            ("create, temporary", "POST /v1/transfers"),
            ("create, formal", "POST /v1/transfers"),
            ("accept", "POST /v1/transfers/{id}/accept"),
            ("create, temporary, Idempotency-Key", "POST /v1/transfers"),
        ]
    }
    with Client(app) as client:
        api = _Api(client, counter)
        credentials = {"registration_number": admin, "password": ADMIN_PASSWORD}
        admin_token = api.request("POST", "/v1/auth/login", body=credentials)[0].json_body["access_token"]

        def new_branch(parent: str, name: str) -> str:
            body = {"name": name, "parent_id": parent}
            return api.request("POST", "/v1/orgs", body=body, token=admin_token, expect=201)[0].json_body[
                "org_id"
            ]

        home = new_branch(HOME_COUNTY, "调出支部 bench home")
        attach_to = new_branch(AWAY_COUNTY, "临时接收支部 bench temporary")
        move_to = new_branch(AWAY_COUNTY, "正式接收支部 bench formal")
        secretary_home = new_branch(AWAY_COUNTY, "书记所在支部 bench")
        secretary, secretary_token = _member(api, admin_token, secretary_home, 0)
        api.request(
            "POST",
            f"/v1/orgs/{move_to}/roles",
            body={"registration_number": secretary, "role": "secretary"},
            token=admin_token,
            expect=201,
        )
        baseline = [bare_get() for _ in range(n * 2)]
        tail = StreamTail(settings.table("transfers"))

        def ask(token: str, to: str, kind: str, headers: dict | None = None) -> tuple[Any, Sample]:
            body = {"to_org_id": to, "kind": kind, "reason": "工作调动 bench"}
            return api.request("POST", "/v1/transfers", body=body, token=token, headers=headers, expect=201)

        def keep(name: str, i: int, sample: Sample) -> None:
            if i == 0:
                ops[name].first_ms = sample.ms
            if i >= warmup:
                ops[name].samples.append(sample)

        records: list[dict] = []
        i = 0
        while i < warmup + n or len(records) < BATCH:
            _, token = _member(api, admin_token, home, 1 + i)
            _, sample = ask(token, attach_to, "temporary")
            keep("create, temporary", i, sample)
            resp, sample = ask(token, move_to, "formal")
            keep("create, formal", i, sample)
            if resp.json_body["status"] != "pending":
                raise BenchError(f"a formal transfer was not pending: {resp.json_body['status']}")
            transfer_id = resp.json_body["transfer_id"]
            resp, sample = api.request("POST", f"/v1/transfers/{transfer_id}/accept", token=secretary_token)
            if resp.json_body["status"] != "effective":
                raise BenchError(f"an accepted transfer was not effective: {resp.json_body['status']}")
            keep("accept", i, sample)
            if i < warmup + max(2, n // 5):  # informational: powertools' idempotency adds its own calls
                _, other = _member(api, admin_token, home, 10_000 + i)
                _, sample = ask(other, attach_to, "temporary", {"Idempotency-Key": uuid.uuid4().hex})
                keep("create, temporary, Idempotency-Key", i, sample)
            records += tail.records()
            i += 1

        batch = {"Records": records[:BATCH]}
        changes = Counter(_change(r) for r in batch["Records"])
        effective = sum(k for change, k in changes.items() if _effective(change))
        consumers = []
        for delivery in ("first", "again"):
            for name in CONSUMERS:
                with counter.window() as calls, counter.writes() as items:
                    t0 = time.perf_counter()
                    payload = client.lambda_.invoke(name, batch).payload
                    ms = (time.perf_counter() - t0) * 1000
                failures = len((payload or {}).get("batchItemFailures") or [])
                consumers.append(
                    ConsumerRun(name, delivery, len(batch["Records"]), effective, calls, items, ms, failures)
                )
        baseline += [bare_get() for _ in range(n * 2)]
    return TransferResult(
        operations=list(ops.values()),
        consumers=consumers,
        changes=changes,
        stream_records=len(records),
        baseline_ms=statistics.median(baseline),
        total_seconds=time.perf_counter() - started,
    )


def _span(values: list[int]) -> str:
    lo, hi = min(values), max(values)
    return str(lo) if lo == hi else f"{lo}–{hi}"


def _lines(ops: Counter) -> str:
    return "\n".join(f"{op} {k}" for op, k in sorted(ops.items())) or "-"


def report(out: Any, result: TransferResult) -> None:
    """The figures as two tables, in the style of bench/report.py."""
    from rich import box
    from rich.table import Table

    from bench.report import FAIL, PASS

    base = result.baseline_ms
    table = Table(
        title="Transfers: DynamoDB calls and time per request (in-process, moto with isolation)",
        box=box.SIMPLE_HEAVY,
        title_justify="left",
        title_style="bold",
    )
    for col in ("operation", "DynamoDB", "DynamoDB calls", "target", "", "median", "median ms", "p90 ms"):
        table.add_column(
            col, no_wrap=True, justify="right" if col in ("DynamoDB", "median ms", "p90 ms") else "left"
        )
    for op in result.operations:
        passed = op.passed()
        table.add_row(
            f"{op.name}\n[dim]{op.request}[/]",
            _span(op.ddb()),
            _lines(op.typical("dynamodb")),
            op.target.text if op.target else "-",
            "[dim]info[/]" if passed is None else (PASS if passed else FAIL),
            f"{op.median_ms() / base:.1f}× GetItem",
            f"{op.median_ms():.2f}",
            f"{op.p90_ms():.2f}",
            end_section=True,
        )
    out.print(table)

    first = next((c for c in result.consumers), None)
    records = first.records if first else 0
    effective = first.effective if first else 0
    streams = Table(
        title=f"Transfers stream consumers: DynamoDB writes per batch of {records} stream records "
        f"({effective} of them transfers taking effect)",
        box=box.SIMPLE_HEAVY,
        title_justify="left",
        title_style="bold",
    )
    for col in (
        "consumer",
        "delivery",
        "write calls",
        "per 100 records",
        "items written",
        "DynamoDB calls",
        "failed",
        "ms",
    ):
        streams.add_column(
            col,
            no_wrap=True,
            justify="left" if col in ("consumer", "delivery", "DynamoDB calls") else "right",
        )
    for c in result.consumers:
        streams.add_row(
            c.consumer,
            "first" if c.delivery == "first" else "[dim]again (redelivered)[/]",
            f"{c.write_calls()}",
            f"[bold]{c.per_100(c.write_calls()):.0f}[/] "
            f"({c.write_calls() / c.records if c.records else 0:.2f} a record)",
            f"{c.items_written()} ({_lines(c.items).replace(chr(10), ', ')})",
            _lines(c.ddb()),
            (FAIL + f" {c.failures}") if c.failures else "0",
            f"{c.ms:.0f}",
            end_section=True,
        )
    out.print(streams)
    out.print(
        "Calls per request: each round a fresh member asks for a temporary transfer (effective at once) "
        "and a formal one, which the receiving branch's secretary accepts; no Idempotency-Key except in "
        "the informational row (powertools' idempotency adds a PutItem and an UpdateItem). "
        f"median: time per request over one boto3 GetItem on the same mock ({base:.2f} ms).\n"
        f"Consumers: the first {records} of the {result.stream_records} records the rounds left on the "
        f"transfers stream ({_lines(result.changes).replace(chr(10), ', ')}; the accept of a formal "
        "transfer supersedes the member's attachment), read with StreamTail and delivered as one Lambda "
        "batch to each consumer through "
        "client.lambda_.invoke, then delivered again. write calls: PutItem, UpdateItem, DeleteItem, "
        "BatchWriteItem and TransactWriteItems; items written: the items those calls carry (a "
        "transaction's ConditionChecks are not items written). filing writes one item per org on either "
        "side of each transfer that took effect (BatchWriteItem, 25 a call); statistics write a stream "
        "mark per counted record and each counter item once per transaction (up to 100 items). "
        "Redelivered, filing writes the same items again (fixed keys: nothing changes) and statistics' "
        "batched transaction is refused (its marks exist), so each counted record is tried alone and "
        "refused too: nothing written, one call per such record. No numeric goal: far fewer write calls "
        "than records.\n"
        f"Transfers bench took {result.total_seconds:.1f} s.\n"
    )


def summary(out: Any, result: TransferResult) -> None:
    from bench.report import FAIL, PASS

    failed = result.failed()
    out.print(f"{FAIL}: transfers: {', '.join(failed)}" if failed else f"{PASS}: transfer targets met")
