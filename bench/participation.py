"""Participation in `make bench` (issue 6): scoring writes per 100-event batch, the monthly filing's
throughput against a bare Query on the same mock, and the wall time that implies for 10 million
members at the design's fan-out.

Runs in its own `mock_aws` with the usual setup, `chalicelib.local.isolation`, the default scoring
rules, the content bucket and the filing queue, and `fast_moto_queries()` from
`tests/integration/participation_support.py` (as the participation tests do): moto otherwise walks
the whole table for every Query, so a per-branch read would cost time in proportion to the table,
not to the partition read as on DynamoDB. The raw Query the filing is compared with runs on the
same patched moto.

Scoring: activity items are written through the store (`store.activity.record`, as the API does),
read back from the activity table's stream with `StreamTail` and delivered as one Lambda batch of
100 records to `participation_scoring` through `client.lambda_.invoke`. Three shapes of batch,
each with its own members: one member's busy day (1 member-day), ten members over three days
across a month end (30 member-days, 20 member-months), and a hundred members with one event each
(100 member-days); the second is then delivered again (a redelivery must write nothing).

Filing: one county of `members` members in 10 branches, their month scores (4 in 5 active), seeded
with batch writes as `tests/integration/test_monthly_filing.py` does; the month's filing is started
for that county and its queue drained through the local pump (`Pump.source(...).poll`), as the
tests do. The raw Query it is compared with reads as many items, the member rows that filing
wrote (one partition, `m#` entries), with a boto3 paginator, right after it. (Not the members'
own items: moto's response serialiser dominates its Query time, so item size matters; a member
item carries a dozen attributes where the filing's Query asks for three.)
"""

from __future__ import annotations

import contextlib
import math
import statistics
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from bench.counting import WRITE_OPERATIONS, CallCounter, by_service
from bench.operations import BenchError, LineSink, _Api, _setup

COUNTY = "div-110105"  # 北京市朝阳区: the county filed
EMPTY_COUNTIES = ("div-110106", "div-110107")  # 丰台区, 石景山区: no members, for a job's fixed cost
BRANCHES = 10
# The filing must read every member (a Query page per branch) and every active member's month score
# (BatchGetItem), so with nothing else to do it would run at members / (members + active) of a raw
# Query over as many items: under moto both cost per item read. The target leaves it a quarter of
# that for writing its rows, summaries and archives (0.42 for the default county, 4 in 5 active).
OVERHEAD_ALLOWED = 0.75
QUERY_RUNS = 2
TARGET_MEMBERS = 10_000_000
JOBS = "participation_filing_jobs"
SCORING = "participation_scoring"


@dataclass
class ScoringBatch:
    name: str
    records: int
    member_days: int
    member_months: int
    calls: Counter
    items: Counter
    ms: float
    failures: int
    target: bool = True  # goal: write calls <= member-days; False for the redelivery (info)

    def ddb(self) -> Counter:
        return by_service(self.calls, "dynamodb")

    def write_calls(self) -> int:
        return sum(n for op, n in self.ddb().items() if op in WRITE_OPERATIONS)

    def passed(self) -> bool | None:
        if not self.target:
            return None
        return self.write_calls() <= self.member_days and not self.failures


@dataclass
class Filing:
    members: int
    active: int
    branches: int
    seconds: float
    empty_seconds: float  # the same job for a county without members
    query_seconds: list[float]  # bare paginated Query over the same members, each run
    query_items: int
    query_pages: int
    calls: Counter  # (service, operation) -> calls
    items: Counter  # DynamoDB write operation -> items written
    call_ms: Counter  # (service, operation) -> ms spent in those calls
    phases: dict  # label of PHASES -> (seconds, calls)
    summary: dict
    departments: int = 0
    counties: int = 0
    fanout: int = 0

    def filing_rate(self) -> float:
        return self.members / self.seconds

    def query_rate(self) -> float:
        return self.query_items / statistics.median(self.query_seconds)

    def ratio(self) -> float:
        return self.filing_rate() / self.query_rate()

    def target(self) -> float:
        """The reads the filing cannot avoid, over the raw Query's, less the allowance for writing."""
        return OVERHEAD_ALLOWED * self.members / (self.members + self.active)

    def passed(self) -> bool:
        return self.ratio() >= self.target()


@dataclass
class ParticipationResult:
    batches: list[ScoringBatch] = field(default_factory=list)
    filing: Filing | None = None
    seed_seconds: float = 0.0
    total_seconds: float = 0.0
    log_lines: int = 0

    def failed(self) -> list[str]:
        out = [f"scoring: {b.name}" for b in self.batches if b.passed() is False]
        if self.filing is not None and not self.filing.passed():
            out.append("filing throughput")
        return out


def run(counter: CallCounter, members: int = 2_000) -> ParticipationResult:
    from moto import mock_aws

    from chalicelib.local.isolation import install

    install()
    sink = LineSink()
    with contextlib.redirect_stdout(sink), mock_aws():
        result = _run(counter, members)
    result.log_lines = sink.lines
    return result


# ---- scoring -------------------------------------------------------------------------------------


def _shanghai(day: date, hour: int, minute: int) -> datetime:
    from chalicelib.domain.scoring import SHANGHAI

    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=SHANGHAI)


def _busy_day(number: str, day: date) -> list[tuple]:
    """100 events of one member in one day: logins, opens (some articles twice), reflections, posts."""
    out: list[tuple] = []
    for i in range(100):
        at = _shanghai(day, 7 + i // 10, i % 10 * 5)
        kind = ("login", "section_open", "article_open", "article_open", "reflection", "group_post")[i % 6]
        target = {"section_open": "theory", "article_open": f"art-{i % 23}", "reflection": f"art-{i % 7}"}
        out.append((number, kind, at, target.get(kind, "g-1" if kind == "group_post" else None)))
    return out


def _month_end(numbers: list[str], days: list[date]) -> list[tuple]:
    """10 members x 3 days (the last two of a month and the first of the next), 100 events."""
    out: list[tuple] = []
    for i in range(100):
        number, day = numbers[i % len(numbers)], days[i // 10 % len(days)]
        kind = ("login", "article_open", "section_open", "reflection")[i % 4]
        out.append((number, kind, _shanghai(day, 9, i % 60), f"art-{i}" if kind != "login" else None))
    return out


def _spread(numbers: list[str], day: date) -> list[tuple]:
    """100 members, one login each."""
    return [(n, "login", _shanghai(day, 8, i % 60), None) for i, n in enumerate(numbers)]


def _score(counter: CallCounter, client: Any, tail: Any, name: str, events: list[tuple]) -> tuple:
    from chalicelib.domain.scoring import SHANGHAI
    from chalicelib.store import activity

    for number, kind, at, target in events:
        if not activity.record(number, uuid.uuid4().hex, kind, at, target):
            raise BenchError("an activity was recorded twice")
    event = tail.event()
    if len(event["Records"]) != len(events):
        raise BenchError(f"{len(events)} activities left {len(event['Records'])} stream records")
    days = {(n, at.astimezone(SHANGHAI).date()) for n, _, at, _ in events}
    months = {(n, d.strftime("%Y-%m")) for n, d in days}
    batch = _deliver(counter, client, event, name, len(days), len(months))
    return batch, event


def _deliver(
    counter: CallCounter, client: Any, event: dict, name: str, days: int, months: int
) -> ScoringBatch:
    with counter.window() as calls, counter.writes() as items:
        t0 = time.perf_counter()
        payload = client.lambda_.invoke(SCORING, event).payload
        ms = (time.perf_counter() - t0) * 1000
    failures = len((payload or {}).get("batchItemFailures") or [])
    return ScoringBatch(name, len(event["Records"]), days, months, calls, items, ms, failures)


def _scoring(counter: CallCounter, client: Any, numbers: list[str]) -> list[ScoringBatch]:
    from chalicelib.config import get_settings
    from chalicelib.local.pump import StreamTail

    tail = StreamTail(get_settings().table("activity"))
    today = datetime.now(UTC).date()
    first_of_last_month = (today.replace(day=1) - timedelta(days=1)).replace(day=1)
    month_end = [first_of_last_month - timedelta(days=2), first_of_last_month - timedelta(days=1)]
    month_end.append(first_of_last_month)
    yesterday = today - timedelta(days=1)
    # warm-up (unmeasured): the scoring rules are read once a minute per container
    _score(counter, client, tail, "warm-up", [(numbers[0], "login", _shanghai(yesterday, 8, 0), None)])
    busy, _ = _score(counter, client, tail, "1 member, 1 day", _busy_day(numbers[1], yesterday))
    edge, edge_event = _score(
        counter, client, tail, "10 members × 3 days, over a month end", _month_end(numbers[2:12], month_end)
    )
    spread, _ = _score(
        counter, client, tail, "100 members, 1 event each", _spread(numbers[12:112], yesterday)
    )
    again = _deliver(counter, client, edge_event, "the second batch delivered again", edge.member_days, 0)
    again.member_months = edge.member_months
    again.target = False
    return [busy, edge, spread, again]


# ---- filing --------------------------------------------------------------------------------------


def _bare_query(ddb: Any, month: str, org_id: str) -> tuple[float, int, int]:
    """The county's filed member rows (one partition) through a boto3 paginator: (s, items, pages)."""
    from chalicelib.config import get_settings
    from chalicelib.store.participation_filings import MEMBER_PREFIX, partition

    paginator = ddb.get_paginator("query")
    items = pages = 0
    t0 = time.perf_counter()
    for page in paginator.paginate(
        TableName=get_settings().table("participation_filings"),
        KeyConditionExpression="filing_id = :p AND begins_with(#e, :m)",
        ExpressionAttributeNames={"#e": "entry"},
        ExpressionAttributeValues={":p": {"S": partition(month, org_id)}, ":m": {"S": MEMBER_PREFIX}},
    ):
        items += len(page["Items"])
        pages += 1
    return time.perf_counter() - t0, items, pages


# what the filing spends its time on: store and domain functions the service calls through their
# modules (so wrapping the module attribute sees every call), label -> (module, function)
PHASES = {
    "members of each branch (Query by_home_branch)": (
        "chalicelib.store.participation_filings",
        "members_of_branch",
    ),
    "their month scores (BatchGetItem)": ("chalicelib.store.participation", "month_scores"),
    "member rows filed before (Query)": ("chalicelib.store.participation_filings", "member_rows_between"),
    "member rows written (BatchWriteItem)": ("chalicelib.store.participation_filings", "write_member_rows"),
    "a department's rows read back (Query)": ("chalicelib.store.participation_filings", "read_partition"),
    "archives built (JSON, CSV)": ("chalicelib.domain.filing", ("archive_json", "archive_csv")),
    "archives stored (S3)": ("chalicelib.store.participation_filings", "put_archive"),
}


@contextlib.contextmanager
def _phases() -> Any:
    """Time the functions of PHASES while the block runs: label -> [seconds, calls]."""
    import importlib

    spent: dict[str, list] = {label: [0.0, 0] for label in PHASES}
    undo = []

    def timed(label: str, fn: Any) -> Any:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                spent[label][0] += time.perf_counter() - t0
                spent[label][1] += 1

        return wrapper

    for label, (module_name, names) in PHASES.items():
        module = importlib.import_module(module_name)
        for name in (names,) if isinstance(names, str) else names:
            original = getattr(module, name)
            setattr(module, name, timed(label, original))
            undo.append((module, name, original))
    try:
        yield spent
    finally:
        for module, name, original in undo:
            setattr(module, name, original)


def _drain(pump: Any) -> None:
    source = pump.source(JOBS)
    idle = 0
    while idle < 2:
        idle = idle + 1 if not source.poll(0) else 0


def _tree(ddb: Any) -> Counter:
    """Orgs per level in the seeded tree (a bare Scan: the bench's own count, not a request path)."""
    from chalicelib.config import get_settings

    levels: Counter = Counter()
    for page in ddb.get_paginator("scan").paginate(
        TableName=get_settings().table("orgs"),
        ProjectionExpression="#l",
        ExpressionAttributeNames={"#l": "level"},
    ):
        levels.update(item["level"]["S"] for item in page["Items"])
    return levels


def _filing(
    counter: CallCounter, api: _Api, admin_token: str, ddb: Any, members: int
) -> tuple[Filing, float]:
    from app import app
    from chalicelib.consumers.monthly_filing import FANOUT
    from chalicelib.domain.scoring import previous_month
    from chalicelib.local.pump import Pump
    from chalicelib.services.monthly_filing import start
    from chalicelib.store import participation_filings
    from tests.integration.participation_support import seed_members, seed_scores, synthetic_numbers

    month = previous_month(datetime.now(UTC))
    branches = []
    for b in range(BRANCHES):
        body = {"name": f"基准支部 {b}", "parent_id": COUNTY}
        org_id = api.request("POST", "/v1/orgs", body=body, token=admin_token, expect=201)[0].json_body[
            "org_id"
        ]
        branches.append(api.request("GET", f"/v1/orgs/{org_id}", token=admin_token)[0].json_body)
    t0 = time.perf_counter()
    numbers = synthetic_numbers(members)
    scores = {}
    for i, branch in enumerate(branches):
        mine = numbers[i::BRANCHES]
        seed_members(branch, mine)
        for j, number in enumerate(mine):
            if j % 5 != 4:
                days = 1 + j % 9
                scores[number] = (days + j % 37, days, {"login": days, "article_open": j % 37})
    seed_scores(scores, month)
    seed_seconds = time.perf_counter() - t0
    pump = Pump(app, retry_delay=0)
    for county in EMPTY_COUNTIES:  # the first warms the clients and the queue up; the second is timed
        t0 = time.perf_counter()
        start(month, county, "bench")
        _drain(pump)
        empty_seconds = time.perf_counter() - t0
    with (
        counter.window() as calls,
        counter.writes() as written,
        counter.timings() as call_ms,
        _phases() as spent,
    ):
        t0 = time.perf_counter()
        start(month, COUNTY, "bench")
        _drain(pump)
        seconds = time.perf_counter() - t0
    query_runs, items, pages = [], 0, 0
    for _ in range(QUERY_RUNS):
        query_seconds, items, pages = _bare_query(ddb, month, COUNTY)
        query_runs.append(query_seconds)
    if items != members:
        raise BenchError(f"the bare Query read {items} member rows, {members} were filed")
    filed = participation_filings.get_department(month, COUNTY)
    if filed is None or filed.summary.to_dict().get("members") != members:
        got = None if filed is None else filed.summary.to_dict().get("members")
        raise BenchError(f"the county's filing holds {got} members, {members} were seeded")
    levels = _tree(ddb)
    departments = sum(levels[k] for k in ("central", "province", "city", "county"))
    filing = Filing(
        members=members,
        active=len(scores),
        branches=BRANCHES,
        seconds=seconds,
        empty_seconds=empty_seconds,
        query_seconds=query_runs,
        query_items=items,
        query_pages=pages,
        calls=calls,
        items=written,
        call_ms=call_ms,
        phases={label: (sec, n) for label, (sec, n) in spent.items()},
        summary=filed.summary.to_dict(),
        departments=departments,
        counties=levels["county"],
        fanout=FANOUT,
    )
    return filing, seed_seconds


def _run(counter: CallCounter, members: int) -> ParticipationResult:
    import boto3
    from chalice.test import Client

    from chalicelib.services.scoring import forget_rules, seed_default_rules
    from tests.integration.participation_support import (
        ensure_content_bucket,
        ensure_filing_queue,
        fast_moto_queries,
        synthetic_numbers,
    )

    started = time.perf_counter()
    fast_moto_queries()
    admin = _setup()
    seed_default_rules()
    forget_rules()
    ensure_content_bucket()
    ensure_filing_queue()
    from app import app
    from bench.operations import ADMIN_PASSWORD

    ddb = boto3.client("dynamodb")
    result = ParticipationResult()
    with Client(app) as client:
        api = _Api(client, counter)
        credentials = {"registration_number": admin, "password": ADMIN_PASSWORD}
        admin_token = api.request("POST", "/v1/auth/login", body=credentials)[0].json_body["access_token"]
        result.batches = _scoring(counter, client, synthetic_numbers(112))
        result.filing, result.seed_seconds = _filing(counter, api, admin_token, ddb, members)
    result.total_seconds = time.perf_counter() - started
    return result


# ---- report --------------------------------------------------------------------------------------


def _lines(ops: Counter, sep: str = "\n") -> str:
    return sep.join(f"{op} {k}" for op, k in sorted(ops.items())) or "-"


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def report(out: Any, result: ParticipationResult) -> None:
    from rich import box
    from rich.table import Table

    from bench.report import FAIL, PASS

    table = Table(
        title="Participation scoring: DynamoDB writes per 100-event batch (participation_scoring, moto)",
        box=box.SIMPLE_HEAVY,
        title_justify="left",
        title_style="bold",
    )
    for col in ("batch", "member-days", "member-months", "write calls", "items", "DynamoDB calls", "", "ms"):
        table.add_column(
            col, no_wrap=True, justify="left" if col in ("batch", "DynamoDB calls", "") else "right"
        )
    for b in result.batches:
        passed = b.passed()
        verdict = "[dim]info[/]" if passed is None else (PASS if passed else FAIL)
        if b.failures:
            verdict += f" {b.failures} failed records"
        table.add_row(
            f"{b.name}\n[dim]{b.records} records[/]",
            str(b.member_days),
            str(b.member_months),
            f"[bold]{b.write_calls()}[/]",
            str(sum(b.items.values())),
            _lines(b.ddb()),
            verdict,
            f"{b.ms:.0f}",
            end_section=True,
        )
    out.print(table)
    out.print(
        "Target: write calls ≤ the batch's distinct member-days (Asia/Shanghai days). The consumer reads "
        "every member-month of the batch in one BatchGetItem per 100 and writes each that changed once "
        "(a PutItem conditional on the version read); a redelivered batch finds every activity applied "
        "and writes nothing. The rules item is read once a minute per container: a warm-up batch read it "
        "first.\n"
    )
    if result.filing is not None:
        _filing_report(out, result.filing)
    out.print(
        f"Seeding the county took {result.seed_seconds:.1f} s; "
        f"participation bench {result.total_seconds:.1f} s in all.\n"
    )


def _filing_report(out: Any, f: Filing) -> None:
    from rich import box
    from rich.table import Table

    from bench.report import FAIL, PASS

    rate, raw, ratio = f.filing_rate(), f.query_rate(), f.ratio()
    q = statistics.median(f.query_seconds)
    out.print(
        f"[bold]Monthly filing throughput[/]: one county of {f.members:,} members in {f.branches} branches "
        f"({f.active:,} with a month score), the month's job started and its queue drained through the "
        f"local pump: {f.seconds:.2f} s, [bold]{rate:,.0f} members/s[/].\n"
        f"Raw Query: a bare boto3 paginated Query over as many items, the {f.query_items:,} member rows the "
        f"filing wrote (one partition, {f.query_pages} page{'s' if f.query_pages > 1 else ''} of up to "
        f"1 MB), same mock, median of {len(f.query_seconds)} right after the filing: {q:.3f} s, "
        f"[bold]{raw:,.0f} items/s[/].\n"
        f"Filing / raw Query throughput = [bold]{ratio:.2f}[/] (target ≥ {f.target():.2f}: "
        f"{OVERHEAD_ALLOWED} × {f.members:,} / ({f.members:,} + {f.active:,}) items the filing must read) "
        f"{PASS if f.passed() else FAIL}"
    )
    table = Table(
        title="Where the filing's time goes", box=box.SIMPLE_HEAVY, title_justify="left", title_style="bold"
    )
    for col in ("step (store or domain function the job calls)", "calls", "s", "share"):
        table.add_column(col, no_wrap=True, justify="left" if col.startswith("step") else "right")
    for label, (sec, n) in sorted(f.phases.items(), key=lambda kv: -kv[1][0]):
        table.add_row(label, str(n), f"{sec:.2f}", f"{sec / f.seconds:.0%}")
    rest = f.seconds - sum(sec for sec, _ in f.phases.values())
    table.add_row(
        "[dim]everything else (tree, progress, summaries, queue)[/]",
        "",
        f"{rest:.2f}",
        f"{rest / f.seconds:.0%}",
    )
    out.print(table)
    calls = ", ".join(
        f"{op if svc == 'dynamodb' else f'{svc}:{op}'} {f.calls[(svc, op)]} ({ms:,.0f} ms)"
        for (svc, op), ms in sorted(f.call_ms.items(), key=lambda kv: -kv[1])
    )
    written = ", ".join(f"{op} {k}" for op, k in sorted(f.items.items()))
    out.print(f"Calls (time in them): {calls}. Items written: {written}.")
    ddb_calls = sum(by_service(f.calls, "dynamodb").values())
    out.print(
        f"DynamoDB calls: the filing {ddb_calls} ({ddb_calls * 100 / f.members:.1f} per 100 members), "
        f"the raw Query {f.query_pages}. Under moto a call costs in proportion to the items it carries (its "
        f"serialiser dominates), so the ratio above compares work per item; on DynamoDB a call costs about "
        f"the same up to its limit (a Query page of 1 MB, 100 keys a BatchGetItem, 25 items a "
        f"BatchWriteItem), so there calls bound it. Filed summary: {f.summary.get('members')} members, "
        f"{f.summary.get('active_members')} active, {f.summary.get('points')} points.\n"
    )
    _extrapolate(out, f)


def _extrapolate(out: Any, f: Filing) -> None:
    """Wall time for 10 million members: one SQS job per department, `FANOUT` Lambdas at once."""
    others_ = f.departments - f.counties
    per_county = TARGET_MEMBERS / f.counties
    per_member = (f.seconds - f.empty_seconds) / f.members
    county_job = f.empty_seconds + per_member * per_county
    work = f.counties * county_job + others_ * f.empty_seconds
    waves = math.ceil(f.departments / f.fanout)
    wall = work / f.fanout
    biggest = per_county * 10
    out.print(
        f"[bold]Extrapolation to {TARGET_MEMBERS:,} members[/] at this run's speed (moto on this machine). "
        f"The seeded tree has {f.departments:,} departments, {f.counties:,} of them counties; the design "
        f"queues one SQS job per department and runs at most {f.fanout} at once (assumed Lambda "
        f"concurrency: the job consumer's maximum_concurrency, consumers.monthly_filing.FANOUT).\n"
        f"  members per county  = {TARGET_MEMBERS:,} / {f.counties:,} = {per_county:,.0f} (spread evenly)\n"
        f"  a job's fixed cost  = {f.empty_seconds:.2f} s (a county with no members, filed in this run)\n"
        f"  per member          = ({f.seconds:.2f} s − {f.empty_seconds:.2f} s) / {f.members:,} = "
        f"{per_member * 1000:.2f} ms\n"
        f"  a county's job      = {f.empty_seconds:.2f} s + {per_county:,.0f} × {per_member * 1000:.2f} ms = "
        f"{county_job:.1f} s\n"
        f"  all jobs            = {f.counties:,} × {county_job:.1f} s + {others_:,} other departments × "
        f"{f.empty_seconds:.2f} s = {work:,.0f} s of Lambda time\n"
        f"  wall time           = {work:,.0f} s / {f.fanout} at once = [bold]{_duration(wall)}[/] "
        f"({waves} waves of {f.fanout} jobs)\n"
        f"A department's rollup waits for its last child, adding about one job's fixed cost per level "
        f"(3 levels). At {f.fanout * 4} at once the same work takes {_duration(work / (f.fanout * 4))}. "
        f"Members are not spread evenly: a county of 10× the mean ({biggest:,.0f} members) takes "
        f"{f.empty_seconds + per_member * biggest:.0f} s here, and a job near Lambda's 15 minutes queues "
        f"its own continuation.\n"
    )


def summary(out: Any, result: ParticipationResult) -> None:
    from bench.report import FAIL, PASS

    failed = result.failed()
    out.print(
        f"{FAIL}: participation: {', '.join(failed)}" if failed else f"{PASS}: participation targets met"
    )
