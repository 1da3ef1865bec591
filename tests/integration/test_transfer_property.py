"""A random run of 2,000+ transfer operations over 50 branches, then statistics and filings must equal
what is recomputed from the members and transfers tables.

The services are called directly (no HTTP) on a simulated clock that starts two days before last
month began (so the run always crosses a month boundary, and ends before now); members are registered
at its start. The stream consumers are fed the records in Lambda-sized chunks afterwards. The levels
(`members`, `mobile_members`) are read back from the members table at every month boundary the run
crosses and at its end, and compared for every month: a past month reads them as the level now
minus the flows of the months after it.
"""

import random
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta
from unittest import mock

import pytest

from chalicelib.domain.errors import DomainError
from chalicelib.local.pump import StreamTail

COUNTIES = ("div-110105", "div-110108", "div-310101", "div-310104", "div-440106")
BRANCHES_PER_COUNTY = 10
MEMBERS = 150
OPERATIONS = int(__import__("os").environ.get("PROP_OPS", "2100"))
SEED = 20261125
FLOWS = ("inflow", "outflow", "attached", "detached", "registered")
LEVELS = ("members", "mobile_members")


def _start(now):
    """Two days before the first instant of last month, China Standard Time (the stats' calendar)."""
    from chalicelib.domain.stats import CST

    this_month = now.astimezone(CST).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    last_month = (this_month - timedelta(days=1)).replace(day=1)
    return (last_month - timedelta(days=2)).astimezone(UTC)


def _months(first, last):
    """Every `YYYY-MM` from `first` to `last`."""
    months, (year, month) = [], map(int, first.split("-"))
    while f"{year:04d}-{month:02d}" <= last:
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def _levels(numbers):
    """Each org's levels as the members table says now: home branches and attachments by org."""
    from chalicelib.store import models

    levels = defaultdict(Counter)
    for m in models.Member.batch_get(numbers):
        for org in m.home_path:
            levels[org]["members"] += 1
        for org in m.attached_path or ():
            levels[org]["mobile_members"] += 1
    return levels


def _feed(platform, tail, handlers):
    records = tail.records()
    for i in range(0, len(records), 100):
        event = {"Records": records[i : i + 100]}
        for handler in handlers:
            assert platform.client.lambda_.invoke(handler, event).payload == {"batchItemFailures": []}
    return len(records)


def _stats(platform, org_id, month):
    from chalicelib.services.stats import org_stats

    return org_stats(platform.admin_number, org_id, month)


def _filings(platform, org_id, month):
    from chalicelib.services.filings import transfer_filings

    rows, cursor = [], None
    while True:
        items, cursor = transfer_filings(platform.admin_number, org_id, month, 100, cursor)
        rows += items
        if not cursor:
            return rows


@pytest.fixture(scope="module")
def fast_wire():
    import json

    from moto.core import responses

    original = responses.ActionResult.execute_result

    def wire(value):
        if isinstance(value, datetime):
            return value.timestamp()
        if isinstance(value, set | frozenset):
            return sorted(value)
        raise TypeError(type(value).__name__)

    def execute_result(self, context):
        if context.service_model.service_name in ("dynamodb", "dynamodbstreams") and isinstance(
            self.result, dict
        ):
            try:
                body = json.dumps(self.result, default=wire)
            except TypeError:
                return original(self, context)
            return 200, {"Content-Type": "application/x-amz-json-1.0"}, body
        return original(self, context)

    responses.ActionResult.execute_result = execute_result
    yield
    responses.ActionResult.execute_result = original


@pytest.fixture(scope="module")
def run(platform, fast_wire):
    from chalicelib.domain.stats import month_of
    from chalicelib.services.accounts import NewMember, register_member
    from chalicelib.services.orgs import create_branch
    from chalicelib.services.transfers import decide, request_transfer

    rng = random.Random(SEED)
    branches = [
        create_branch(platform.admin_number, f"property {county} {i}", county)
        for county in COUNTIES
        for i in range(BRANCHES_PER_COUNTY)
    ]
    paths = {b["org_id"]: tuple(b["path"]) for b in branches}
    orgs = sorted({org for path in paths.values() for org in path})
    now = datetime.now(UTC)
    start = _start(now)
    months = _months(month_of(start), month_of(now))
    before = {(org, m): _stats(platform, org, m) for org in orgs for m in months}
    filed_before = {
        (org, m): {r["transfer_id"] for r in _filings(platform, org, m)} for org in orgs for m in months
    }

    transfers_tail, members_tail = StreamTail("mmp-test-transfers"), StreamTail("mmp-test-members")
    members = []
    with mock.patch("chalicelib.services.accounts._now", return_value=start):
        for i in range(MEMBERS):
            branch = branches[i % len(branches)]["org_id"]
            req = NewMember("属性", "110105", date(2019, 3, 1) + timedelta(days=i % 28), branch)
            members.append(register_member(platform.admin_number, req)["registration_number"])

    clock, month = start, month_of(start)
    levels = {}  # month -> org -> the levels at the end of that month, read at the boundary
    pending: dict[str, str] = {}  # transfer id -> member
    attached: dict[str, str] = {}  # member -> effective temporary transfer id
    outcomes: Counter = Counter()
    for _ in range(OPERATIONS):
        clock += timedelta(minutes=rng.randint(1, 20))
        if month_of(clock) != month:
            levels[month], month = _levels(members), month_of(clock)
        member = rng.choice(members)
        roll = rng.random()
        try:
            if roll < 0.30:
                result = request_transfer(
                    member, rng.choice(branches)["org_id"], "temporary", None, now=clock
                )
                attached[member] = result["transfer_id"]
                op = "temporary"
            elif roll < 0.55:
                result = request_transfer(
                    member, rng.choice(branches)["org_id"], "formal", "moving", now=clock
                )
                pending[result["transfer_id"]] = member
                op = "formal"
            elif roll < 0.75 and pending:
                tid = rng.choice(sorted(pending))
                op = "accept"
                decide(platform.admin_number, tid, "accept", None, now=clock)
                attached.pop(pending.pop(tid), None)
            elif roll < 0.80 and pending:
                tid = rng.choice(sorted(pending))
                op = "reject"
                decide(platform.admin_number, tid, "reject", "no", now=clock)
                pending.pop(tid)
            elif roll < 0.85 and pending:
                tid = rng.choice(sorted(pending))
                op = "cancel"
                decide(pending[tid], tid, "cancel", None, now=clock)
                pending.pop(tid)
            elif roll < 0.90 and attached:
                holder = rng.choice(sorted(attached))
                op = "reject temporary"
                decide(platform.admin_number, attached[holder], "reject", None, now=clock)
                attached.pop(holder)
            elif attached:
                holder = rng.choice(sorted(attached))
                op = "end temporary"
                decide(holder, attached[holder], "cancel", None, now=clock)
                attached.pop(holder)
            else:
                op = "nothing to do"
            outcomes[(op, "ok")] += 1
        except DomainError as exc:
            outcomes[(op, exc.status)] += 1

    final = _levels(members)
    levels.update({m: final for m in months if m >= month})
    records = _feed(platform, transfers_tail, ["transfer_stats", "transfer_filing"])
    _feed(platform, members_tail, ["member_stats", "org_member_counts"])
    return {
        "branches": paths,
        "orgs": orgs,
        "months": months,
        "members": members,
        "before": before,
        "filed_before": filed_before,
        "levels": levels,
        "outcomes": outcomes,
        "records": records,
    }


@pytest.fixture(scope="module")
def tables(run):
    """What the members and transfers tables hold for the run's members (read back, not remembered)."""
    from chalicelib.store import models
    from chalicelib.store.transfers import to_domain

    members = {m.registration_number: m for m in models.Member.batch_get(run["members"])}
    transfers = [to_domain(t) for n in run["members"] for t in models.Transfer.by_member.query(n)]
    states = {s.registration_number: s for s in models.MemberTransfers.batch_get(run["members"])}
    return {"members": members, "transfers": transfers, "states": states}


def test_the_run_did_thousands_of_operations_of_every_kind(run):
    done = sum(n for (op, result), n in run["outcomes"].items() if op != "nothing to do")
    assert done >= 2000
    ok = {op for (op, result), n in run["outcomes"].items() if result == "ok"}
    assert {"temporary", "formal", "accept", "reject", "cancel", "reject temporary", "end temporary"} <= ok
    assert run["outcomes"][("formal", 409)] > 0  # one open formal transfer at a time was exercised
    assert run["records"] > 2000


def test_members_branches_and_transfer_state_agree(run, tables):
    from chalicelib.store import models

    homes = Counter(m.home_branch_id for m in tables["members"].values())
    for branch in run["branches"]:
        assert models.Org.get(branch).member_count == homes[branch]
    by_member = defaultdict(list)
    for t in tables["transfers"]:
        by_member[t.registration_number].append(t)
    for number, member in tables["members"].items():
        mine = by_member[number]
        effective_temporary = [t for t in mine if t.kind == "temporary" and t.status == "effective"]
        open_formal = [t for t in mine if t.kind == "formal" and t.status == "pending"]
        state = tables["states"].get(number)
        assert len(effective_temporary) <= 1 and len(open_formal) <= 1
        assert member.attached_branch_id == (
            effective_temporary[0].to_org_id if effective_temporary else None
        )
        assert member.attached_branch_id != member.home_branch_id
        assert (state.attached_transfer_id if state else None) == (
            effective_temporary[0].transfer_id if effective_temporary else None
        )
        assert (state.open_formal_id if state else None) == (
            open_formal[0].transfer_id if open_formal else None
        )
        assert tuple(member.home_path) == run["branches"][member.home_branch_id]
        if effective_temporary:
            assert effective_temporary[0].from_org_id == member.home_branch_id


def test_statistics_equal_what_the_tables_say(run, tables, platform):
    from chalicelib.domain.stats import month_of

    assert len(run["months"]) == 3 and set(run["levels"]) == set(run["months"])
    assert run["levels"][run["months"][0]] != run["levels"][run["months"][1]]  # the boundary is crossed
    expected = defaultdict(Counter)  # (org, month) -> field -> n
    for month, levels in run["levels"].items():  # the end of each month, as the members table said
        for org, counts in levels.items():
            expected[(org, month)].update(counts)
    for member in tables["members"].values():
        for org in run["branches"][_first_home(member, tables)]:
            expected[(org, month_of(member.created_at))]["registered"] += 1
    for t in tables["transfers"]:
        src, dst = set(t.from_path), set(t.to_path)
        if t.kind == "formal" and t.status == "effective":
            for org in dst - src:
                expected[(org, month_of(t.effective_at))]["inflow"] += 1
            for org in src - dst:
                expected[(org, month_of(t.effective_at))]["outflow"] += 1
        if t.kind == "temporary":
            for org in dst:
                expected[(org, month_of(t.effective_at))]["attached"] += 1
                if t.status != "effective":
                    expected[(org, month_of(t.ended_at))]["detached"] += 1
    mismatches = []
    for org in run["orgs"]:
        for month in run["months"]:
            got, was = _stats(platform, org, month), run["before"][(org, month)]
            delta = {f: got[f] - was[f] for f in FLOWS + LEVELS if got[f] != was[f]}
            want = {f: n for f, n in expected[(org, month)].items() if n and f in FLOWS + LEVELS}
            if delta != want:
                mismatches.append((org, month, delta, want))
    assert mismatches == []


def _first_home(member, tables):
    """The branch a member was registered into: the `from` of their first effective formal transfer."""
    formal = sorted(
        (
            t
            for t in tables["transfers"]
            if t.registration_number == member.registration_number and t.kind == "formal"
        ),
        key=lambda t: t.effective_at or "~",
    )
    moved = [t for t in formal if t.status == "effective"]
    return moved[0].from_org_id if moved else member.home_branch_id


def test_filings_equal_what_the_tables_say(run, tables, platform):
    from chalicelib.domain.stats import month_of
    from chalicelib.domain.transfers import filing_sides

    expected = defaultdict(dict)  # (org, month) -> transfer id -> side
    for t in tables["transfers"]:
        if t.was_effective:
            for org, side in filing_sides(t).items():
                expected[(org, month_of(t.effective_at))][t.transfer_id] = side
    mine = {t.transfer_id for t in tables["transfers"]}
    for org in run["orgs"]:
        for month in run["months"]:
            rows = _filings(platform, org, month)
            got = {r["transfer_id"]: r["side"] for r in rows if r["transfer_id"] in mine}
            assert got == expected[(org, month)], (org, month)
            assert not (run["filed_before"][(org, month)] & set(got))
