"""Virtual branches in `make bench`: DynamoDB calls per join request, approval and leave, and
whether approving costs the same in a 100,000-member branch as in a 10-member one.

Runs after the main operations, in its own `mock_aws` with the same setup, plus what the
integration tests and the local stack use: `chalicelib.local.isolation`, which stops moto from
deep-copying every table a transaction touches (the memberships table holds 100,000 items here;
DynamoDB never copies a table, so without it the ratio would measure moto, not the code).

Two branches are founded; 9 and 99,999 memberships are batch-loaded through the store layer. Each
round a fresh member applies to the small branch (counted), is approved there (counted) and in the
big branch (it applied there unmeasured), then leaves the small branch (counted), so the small one
stays at 10 members. Approvals in the two branches alternate, so drift hits both alike.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass
from typing import Any

from bench.counting import CallCounter
from bench.operations import (
    ADMIN_PASSWORD,
    MEMBER_PASSWORD,
    REGION,
    BenchError,
    LineSink,
    Operation,
    Target,
    _Api,
    _setup,
)

BIG = 100_000
SMALL = 10
RATIO_TARGET = 1.2
TARGETS = {
    "join request": Target(2, "≤ 2"),
    "approve": Target(2, "≤ 2"),
    "leave": Target(2, "≤ 2"),
    "approve, 100,000 members": Target(2, "≤ 2"),
}
BASE = "/v1/virtual-branches"


@dataclass
class Ratio:
    """Approve time in the big branch over the small one; reads like an Operation for the summary."""

    name: str
    value: float
    big_members: int
    small_members: int

    def passed(self) -> bool:
        return self.value <= RATIO_TARGET


@dataclass
class BranchResult:
    operations: list[Operation]
    ratio: Ratio
    load_seconds: float
    total_seconds: float
    log_lines: int = 0

    def checks(self) -> list[Any]:
        """Everything with a target, for the closing PASS/FAIL line."""
        return [*self.operations, self.ratio]


def run(counter: CallCounter, n: int = 50, warmup: int = 5) -> BranchResult:
    from moto import mock_aws

    sink = LineSink()
    with contextlib.redirect_stdout(sink), mock_aws():
        result = _run(counter, n, warmup)
    result.log_lines = sink.lines
    return result


def _member(api: _Api, admin_token: str, branch: str, i: int) -> tuple[str, str]:
    body = {"name": f"支部成员 {i}", "region_code": REGION, "join_date": "2021-03-01", "branch_id": branch}
    created = api.request("POST", "/v1/members", body=body, token=admin_token, expect=201)[0].json_body
    number = created["registration_number"]
    api.request(
        "POST",
        "/v1/auth/activate",
        body={
            "registration_number": number,
            "activation_code": created["activation_code"],
            "password": MEMBER_PASSWORD,
        },
    )
    login = {"registration_number": number, "password": MEMBER_PASSWORD}
    return number, api.request("POST", "/v1/auth/login", body=login)[0].json_body["access_token"]


def _found(api: _Api, token: str, name: str) -> str:
    rules = api.request("GET", f"{BASE}/rules")[0].json_body
    body = {
        "name": name,
        "accepted_rules_version": rules["rules_version"],
        "accepted_covenant_version": rules["covenant_version"],
    }
    return api.request("POST", BASE, body=body, token=token, expect=201)[0].json_body["org_id"]


def _load(org_id: str, count: int, day: str) -> None:
    from chalicelib.store.branches import add_memberships_in_bulk

    rows = ((f"110105{day}{i:04d}", f"成员{i}", "2024-01-01T00:00:00+00:00") for i in range(count))
    add_memberships_in_bulk(org_id, rows)


def _run(counter: CallCounter, n: int, warmup: int) -> BranchResult:
    from chalice.test import Client

    from chalicelib.local.isolation import install

    install()
    started = time.perf_counter()
    admin = _setup()
    from chalicelib.services.rules import seed_texts

    seed_texts()
    from app import app
    from chalicelib.services.branches import request_join
    from chalicelib.store import branches as store

    ops = {
        name: Operation(name, req, TARGETS[name])
        for name, req in [
            ("join request", f"POST {BASE}/{{id}}/join-requests"),
            ("approve", f"POST {BASE}/{{id}}/join-requests/{{n}}/approve"),
            ("approve, 100,000 members", f"POST {BASE}/{{id}}/join-requests/{{n}}/approve"),
            ("leave", f"POST {BASE}/{{id}}/leave"),
        ]
    }
    with Client(app) as client:
        api = _Api(client, counter)
        credentials = {"registration_number": admin, "password": ADMIN_PASSWORD}
        admin_token = api.request("POST", "/v1/auth/login", body=credentials)[0].json_body["access_token"]
        home = api.request(
            "POST",
            "/v1/orgs",
            body={"name": "bench vb home", "parent_id": f"div-{REGION}"},
            token=admin_token,
            expect=201,
        )[0].json_body["org_id"]
        _, small_token = _member(api, admin_token, home, 0)
        _, big_token = _member(api, admin_token, home, 1)
        small = _found(api, small_token, "小支部 small")
        big = _found(api, big_token, "大支部 big")
        _load(small, SMALL - 1, "19990101")
        t0 = time.perf_counter()
        # two ranges of synthetic numbers: 10,000 a day-prefix, enough days for 100,000
        for day in range((BIG - 1) // 10_000 + 1):
            count = min(10_000, BIG - 1 - day * 10_000)
            _load(big, count, f"200001{day + 1:02d}")
        load_seconds = time.perf_counter() - t0
        sizes = {org: store.get(org).member_count for org in (small, big)}
        if sizes != {small: SMALL, big: BIG}:
            raise BenchError(f"the branches did not load as planned: {sizes}")

        for i in range(warmup + n):
            number, token = _member(api, admin_token, home, 100 + i)
            request_join(number, big, None)  # not measured: only the approval there is
            steps = [
                (
                    "join request",
                    lambda t=token: api.request("POST", f"{BASE}/{small}/join-requests", token=t, expect=201),
                ),
                (
                    "approve",
                    lambda n_=number: api.request(
                        "POST", f"{BASE}/{small}/join-requests/{n_}/approve", token=small_token
                    ),
                ),
                (
                    "approve, 100,000 members",
                    lambda n_=number: api.request(
                        "POST", f"{BASE}/{big}/join-requests/{n_}/approve", token=big_token
                    ),
                ),
                ("leave", lambda t=token: api.request("POST", f"{BASE}/{small}/leave", token=t)),
            ]
            for name, call in steps:
                _, sample = call()
                if i == 0:
                    ops[name].first_ms = sample.ms
                if i >= warmup:
                    ops[name].samples.append(sample)
        big_now = store.get(big).member_count
        small_now = store.get(small).member_count
    ratio = Ratio(
        name="approve ratio 100,000 / 10 members",
        value=ops["approve, 100,000 members"].median_ms() / ops["approve"].median_ms(),
        big_members=big_now,
        small_members=small_now,
    )
    return BranchResult(
        operations=list(ops.values()),
        ratio=ratio,
        load_seconds=load_seconds,
        total_seconds=time.perf_counter() - started,
    )


def report(out: Any, result: BranchResult) -> None:
    """The figures as one table and a ratio line, in the style of bench/report.py."""
    from rich import box
    from rich.table import Table

    from bench.report import FAIL, PASS

    table = Table(
        title="Virtual branches: DynamoDB calls and time per request (in-process, moto with isolation)",
        box=box.SIMPLE_HEAVY,
        title_justify="left",
        title_style="bold",
    )
    for col in ("operation", "DynamoDB", "DynamoDB calls", "target", "", "median ms", "p90 ms"):
        table.add_column(
            col, no_wrap=True, justify="right" if col in ("DynamoDB", "median ms", "p90 ms") else "left"
        )
    for op in result.operations:
        calls = op.ddb()
        span = str(min(calls)) if min(calls) == max(calls) else f"{min(calls)}–{max(calls)}"
        which = "\n".join(f"{k} {v}" for k, v in sorted(op.typical("dynamodb").items())) or "-"
        table.add_row(
            f"{op.name}\n[dim]{op.request}[/]",
            span,
            which,
            op.target.text,
            PASS if op.passed() else FAIL,
            f"{op.median_ms():.2f}",
            f"{op.p90_ms():.2f}",
            end_section=True,
        )
    out.print(table)
    r = result.ratio
    out.print(
        f"Approve time, {r.big_members:,}-member branch over {r.small_members}-member branch = "
        f"[bold]{r.value:.2f}[/] (target ≤ {RATIO_TARGET}) {PASS if r.passed() else FAIL}\n"
        f"{len(result.operations[0].samples)} rounds after warm-up, approvals alternating between the two "
        f"branches; {BIG - 1:,} memberships batch-loaded in {result.load_seconds:.1f} s; "
        f"{result.total_seconds:.1f} s in all.\n"
    )
