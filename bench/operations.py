"""Drive the API in-process (moto `mock_aws` + `chalice.test.Client`) and record calls and times.

Setup mirrors `tests/integration/conftest.py`: a Cognito pool, the tables, the seeded departments
and the central administrator. Each operation is warmed up, then run `n` times; register, activate
and login each get fresh members. The baseline is one bare DynamoDB GetItem through boto3 on the
same mock, measured before and after the operations so drift shows in both; a bare
TransactWriteItems on the tables that register writes is measured the same way, because moto copies
every table a transaction touches (for rollback), which makes transactions far slower than on AWS.

Before each operation's first call, every cached client and connection is dropped (PynamoDB's
per-model connections, the project's boto3 clients, boto3's default session, the JWKS keys), so the
first call shows what a fresh Lambda container pays on top of the warm figure.
"""

from __future__ import annotations

import contextlib
import io
import json
import statistics
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from bench.counting import CallCounter, by_service, others

ADMIN_PASSWORD = "admin-password-123"  # noqa: S105 (moto only)
MEMBER_PASSWORD = "correct horse battery"  # noqa: S105 (moto only)
REGION = "110105"
JOIN_DATE = "2020-07-01"
DEPARTMENT = f"div-{REGION}"


class BenchError(RuntimeError):
    """The API did not answer as the bench expects (a broken route, not a slow one)."""


@dataclass(frozen=True)
class Target:
    """At most `max_calls` DynamoDB calls; `note` says what is left out of the count."""

    max_calls: int
    text: str


@dataclass
class Sample:
    ms: float
    calls: Counter


@dataclass
class Operation:
    name: str
    request: str
    target: Target | None
    first_ms: float = 0.0
    first_clients: Counter = field(default_factory=Counter)
    samples: list[Sample] = field(default_factory=list)

    def ddb(self) -> list[int]:
        return [sum(by_service(s.calls, "dynamodb").values()) for s in self.samples]

    def cognito(self) -> list[int]:
        return [sum(by_service(s.calls, "cognito-idp").values()) for s in self.samples]

    def other(self) -> Counter:
        out: Counter = Counter()
        for s in self.samples:
            out.update(others(s.calls, "dynamodb", "cognito-idp"))
        return out

    def typical(self, service: str) -> Counter:
        """The most common per-request breakdown for one service."""
        shapes = Counter(tuple(sorted(by_service(s.calls, service).items())) for s in self.samples)
        return Counter(dict(shapes.most_common(1)[0][0])) if shapes else Counter()

    def median_ms(self) -> float:
        return statistics.median(s.ms for s in self.samples)

    def p90_ms(self) -> float:
        ordered = sorted(s.ms for s in self.samples)
        return ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))]

    def passed(self) -> bool | None:
        if self.target is None:
            return None
        return max(self.ddb()) <= self.target.max_calls


@dataclass
class InProcessResult:
    n: int
    warmup: int
    baseline_ms: list[float]
    transaction_ms: list[float]
    operations: list[Operation]
    clients_setup: Counter
    setup_seconds: float
    total_seconds: float
    log_lines: int = 0

    def baseline_median(self) -> float:
        return statistics.median(self.baseline_ms)

    def transaction_median(self) -> float:
        return statistics.median(self.transaction_ms)


TARGETS = {
    "register": Target(2, "≤ 2"),
    "login": Target(2, "≤ 2 + Cognito"),
    "me": Target(2, "≤ 2"),
    "org lookup": Target(1, "1"),
}


class LineSink(io.TextIOBase):
    """Stands in for stdout while the app runs: log lines are formatted and written (their cost counts)
    but only counted, so the report stays readable."""

    def __init__(self) -> None:
        self.lines = 0

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        self.lines += text.count("\n")
        return len(text)


def run(counter: CallCounter, n: int = 50, warmup: int = 5) -> InProcessResult:
    """The whole in-process measurement, inside one `mock_aws`, with the app's stdout (its logs) sunk.

    The powertools Logger binds its handler to the `sys.stdout` of the moment it is created, which is
    inside this redirect because the project is first imported here.
    """
    from moto import mock_aws

    sink = LineSink()
    with contextlib.redirect_stdout(sink), mock_aws():
        result = _run(counter, n, warmup)
    result.log_lines = sink.lines
    return result


def _setup() -> str:
    """Pool, tables, departments and the administrator, as the integration tests do; the admin's number."""
    from chalicelib.config import reset_settings
    from chalicelib.store.clients import reset_clients
    from tests.integration.conftest import create_user_pool

    create_user_pool()
    reset_settings()
    reset_clients()
    from chalicelib.api.auth import forget_keys
    from chalicelib.services.accounts import bootstrap_administrator
    from chalicelib.services.orgs import seed_departments
    from chalicelib.store.tables import create_tables

    forget_keys()
    create_tables()
    seed_departments()
    return bootstrap_administrator(ADMIN_PASSWORD)


def check_counter(counter: CallCounter, ddb: Any, table: str) -> None:
    """The hook must see a boto3 call and a PynamoDB call exactly once each."""
    from chalicelib.store import models

    want = Counter({("dynamodb", "GetItem"): 1})
    with counter.window() as boto3_calls:
        ddb.get_item(TableName=table, Key={"org_id": {"S": "central"}})
    with counter.window() as pynamodb_calls:
        models.Org.get("central")
    if boto3_calls != want or pynamodb_calls != want:
        raise BenchError(
            f"the call counter is not seeing every call: boto3 GetItem -> {dict(boto3_calls)}, "
            f"PynamoDB Org.get -> {dict(pynamodb_calls)}"
        )


def _timed(times: int, call: Any) -> list[float]:
    out = []
    for _ in range(times):
        t0 = time.perf_counter()
        call()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def _bare_get(ddb: Any) -> Any:
    from chalicelib.config import get_settings

    table = get_settings().table("orgs")
    return lambda: ddb.get_item(TableName=table, Key={"org_id": {"S": "central"}})


def _bare_transaction(ddb: Any, admin: str) -> Any:
    """Three ConditionChecks on the tables register writes in one transaction (orgs, members, sequences)."""
    from chalicelib.config import get_settings

    table = get_settings().table
    items = [
        {
            "ConditionCheck": {
                "TableName": table("orgs"),
                "Key": {"org_id": {"S": "central"}},
                "ConditionExpression": "attribute_exists(org_id)",
            }
        },
        {
            "ConditionCheck": {
                "TableName": table("members"),
                "Key": {"registration_number": {"S": admin}},
                "ConditionExpression": "attribute_exists(registration_number)",
            }
        },
        {
            "ConditionCheck": {
                "TableName": table("sequences"),
                "Key": {"key": {"S": "bench#none"}},
                "ConditionExpression": "attribute_not_exists(#k)",
                "ExpressionAttributeNames": {"#k": "key"},
            }
        },
    ]
    return lambda: ddb.transact_write_items(TransactItems=items)


def _forget_clients() -> None:
    """Drop every cached client, connection and key, as in a fresh Lambda container."""
    import boto3

    from chalicelib.api.auth import forget_keys
    from chalicelib.store.clients import reset_clients
    from chalicelib.store.models import bind_models

    bind_models()
    reset_clients()
    boto3.DEFAULT_SESSION = None
    forget_keys()


class _Api:
    """`chalice.test.Client` with call counting and timing around each request."""

    def __init__(self, client: Any, counter: CallCounter) -> None:
        self.client = client
        self.counter = counter

    def request(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        token: str | None = None,
        headers: dict | None = None,
        expect: int = 200,
    ) -> tuple[Any, Sample]:
        h = {"Content-Type": "application/json"}
        if token:
            h["Authorization"] = f"Bearer {token}"
        h.update(headers or {})
        kwargs = {"headers": h}
        if body is not None:
            kwargs["body"] = json.dumps(body).encode()
        with self.counter.window() as calls:
            t0 = time.perf_counter()
            resp = getattr(self.client.http, method.lower())(path, **kwargs)
            ms = (time.perf_counter() - t0) * 1000
        if resp.status_code != expect:
            text = resp.body.decode(errors="replace") if isinstance(resp.body, bytes) else str(resp.body)
            raise BenchError(f"{method} {path} answered {resp.status_code}, expected {expect}: {text[:400]}")
        return resp, Sample(ms, calls)


def _measure(op: Operation, warmup: int, runs: list, op_counter: CallCounter) -> list:
    """Run each thunk of `runs` (warm-up first); keep the samples after the warm-up; return the answers."""
    answers = []
    for i, thunk in enumerate(runs):
        if i == 0:
            _forget_clients()
            made = len(op_counter.clients)
        resp, sample = thunk()
        if i == 0:
            op.first_ms = sample.ms
            op.first_clients = Counter(op_counter.clients[made:])
        if i >= warmup:
            op.samples.append(sample)
        answers.append(resp.json_body)
    return answers


def _run(counter: CallCounter, n: int, warmup: int) -> InProcessResult:
    import boto3
    from chalice.test import Client

    started = time.perf_counter()
    admin = _setup()
    setup_seconds = time.perf_counter() - started
    from chalicelib.config import get_settings

    ddb = boto3.client("dynamodb")
    check_counter(counter, ddb, get_settings().table("orgs"))
    bare_get, bare_transaction = _bare_get(ddb), _bare_transaction(ddb, admin)
    from app import app

    total = warmup + n
    slow_n = max(2, n // 5)  # the informational transaction rows: each one costs ~0.3 s under moto
    ops = {
        name: Operation(name, req, TARGETS.get(name))
        for name, req in [
            ("register", "POST /v1/members"),
            ("activate", "POST /v1/auth/activate"),
            ("login", "POST /v1/auth/login"),
            ("me", "GET /v1/members/me"),
            ("org lookup", "GET /v1/orgs/{org_id}"),
            ("register, Idempotency-Key", "POST /v1/members"),
            ("route without AWS", "GET /v1/registration-numbers/{n}"),
        ]
    }

    def measure(name: str, runs: list) -> list:
        return _measure(ops[name], warmup, runs, counter)

    with Client(app) as client:
        api = _Api(client, counter)
        credentials = {"registration_number": admin, "password": ADMIN_PASSWORD}
        admin_token = api.request("POST", "/v1/auth/login", body=credentials)[0].json_body["access_token"]
        branch = api.request(
            "POST",
            "/v1/orgs",
            body={"name": "bench branch", "parent_id": DEPARTMENT},
            token=admin_token,
            expect=201,
        )[0].json_body["org_id"]
        clients_setup = Counter(counter.clients)
        baseline = _timed(n * 2, bare_get)
        transaction = _timed(slow_n // 2, bare_transaction)

        def new_member(i: int, headers: dict | None = None):
            body = {"name": f"成员 {i}", "region_code": REGION, "join_date": JOIN_DATE, "branch_id": branch}
            return lambda: api.request(
                "POST", "/v1/members", body=body, token=admin_token, headers=headers, expect=201
            )

        def activate(c: dict):
            body = {
                "registration_number": c["registration_number"],
                "activation_code": c["activation_code"],
                "password": MEMBER_PASSWORD,
            }
            return lambda: api.request("POST", "/v1/auth/activate", body=body)

        def login(c: dict):
            body = {"registration_number": c["registration_number"], "password": MEMBER_PASSWORD}
            return lambda: api.request("POST", "/v1/auth/login", body=body)

        def get(path: str, token: str | None = None):
            return lambda: api.request("GET", path, token=token)

        created = measure("register", [new_member(i) for i in range(total)])
        measure("activate", [activate(c) for c in created])
        tokens = [t["access_token"] for t in measure("login", [login(c) for c in created])]
        measure("me", [get("/v1/members/me", t) for t in tokens])
        measure("org lookup", [get(f"/v1/orgs/{branch}", t) for t in tokens])
        keyed = [new_member(total + i, {"Idempotency-Key": uuid.uuid4().hex}) for i in range(warmup + slow_n)]
        measure("register, Idempotency-Key", keyed)
        measure(
            "route without AWS",
            [get(f"/v1/registration-numbers/{c['registration_number']}") for c in created],
        )
        baseline += _timed(n * 2, bare_get)
        transaction += _timed(slow_n // 2, bare_transaction)
    return InProcessResult(
        n=n,
        warmup=warmup,
        baseline_ms=baseline,
        transaction_ms=transaction,
        operations=list(ops.values()),
        clients_setup=clients_setup,
        setup_seconds=setup_seconds,
        total_seconds=time.perf_counter() - started,
    )
