"""The monthly participation filing: fan-out through SQS, rollups to the centre, archives, re-runs."""

from __future__ import annotations

import itertools
import json
import time
from datetime import UTC, datetime

import boto3
import pytest

from chalicelib.domain.filing import Summary
from chalicelib.local.pump import Pump
from tests.integration.participation_support import (
    ensure_content_bucket,
    ensure_filing_queue,
    fast_moto_queries,
    move_member,
    seed_members,
    seed_scores,
    synthetic_numbers,
)

JOBS = "participation_filing_jobs"
_months = itertools.count()


def unique_month() -> str:
    """A month no other test files (each test its own, so rows never mix)."""
    n = next(_months)
    return f"{2015 + n // 12}-{n % 12 + 1:02d}"


@pytest.fixture(scope="module")
def filing_env(platform):
    fast_moto_queries()
    ensure_content_bucket()
    url = ensure_filing_queue()
    from app import app

    pump = Pump(app, retry_delay=0)
    return {"pump": pump, "queue_url": url}


def drain(env) -> None:
    """Deliver the filing queue's messages to the job consumer until it is empty."""
    source = env["pump"].source(JOBS)
    idle = 0
    while idle < 2:
        idle = idle + 1 if not source.poll(0) else 0


def run_filing(env, month, root, **kw):
    from chalicelib.services.monthly_filing import start

    started = start(month, root, "test", **kw)
    drain(env)
    return started


def branch(platform, parent):
    org_id = platform.new_branch(parent)
    return platform.get(f"/v1/orgs/{org_id}", platform.admin_token).json_body


def filed(platform, org_id, month, token=None, **query):
    params = "&".join(f"{k}={v}" for k, v in {"org_id": org_id, "month": month, **query}.items())
    return platform.get(f"/v1/filings/participation?{params}", token or platform.admin_token)


def all_rows(platform, org_id, month, rows=None, token=None):
    items, cursor = [], None
    while True:
        query = {"limit": 100, **({"rows": rows} if rows else {}), **({"cursor": cursor} if cursor else {})}
        resp = filed(platform, org_id, month, token, **query)
        assert resp.status_code == 200, resp.body
        items += resp.json_body["items"]
        cursor = resp.json_body["next_cursor"]
        if not cursor:
            return items


def archive(key):
    from chalicelib.config import get_settings

    s3 = boto3.client("s3", region_name="us-east-1")
    return s3.get_object(Bucket=get_settings().content_bucket, Key=key)["Body"].read()


def archives(month):
    from chalicelib.config import get_settings

    s3 = boto3.client("s3", region_name="us-east-1")
    pages = s3.get_paginator("list_objects_v2").paginate(
        Bucket=get_settings().content_bucket, Prefix=f"filings/{month}/"
    )
    return {o["Key"]: archive(o["Key"]) for page in pages for o in page.get("Contents", [])}


def populate(branches_and_sizes, month, score_of):
    """Members in branches and their month scores; returns {number: (points, active)} and per branch."""
    out, per_branch = {}, {}
    for b, size in branches_and_sizes:
        numbers = synthetic_numbers(size)
        seed_members(b, numbers)
        scores = {}
        for i, number in enumerate(numbers):
            points, days = score_of(i)
            if days:
                scores[number] = (points, days, {"login": days, "article_open": points - days})
            out[number] = (points if days else 0, bool(days))
        seed_scores(scores, month)
        per_branch[b["org_id"]] = numbers
    return out, per_branch


def summary_of(figures, numbers):
    from chalicelib.domain.filing import MemberRow

    return Summary.of(
        MemberRow(n, "", "", figures[n][0], 1 if figures[n][1] else 0) for n in numbers
    ).to_dict()


# ---- a province filed up to the centre -----------------------------------------------------------


@pytest.fixture(scope="module")
def ningxia(platform, filing_env):
    """Branches in two counties of 银川, one under the city itself, one under the province, one in 中卫."""
    month = unique_month()
    county_a, county_b = branch(platform, "div-640104"), branch(platform, "div-640104")
    county_c = branch(platform, "div-640502")
    under_city, under_province = branch(platform, "div-640100"), branch(platform, "div-640000")
    layout = [(county_a, 5), (county_b, 3), (county_c, 4), (under_city, 2), (under_province, 2)]
    figures, per_branch = populate(layout, month, lambda i: (0, 0) if i % 3 == 2 else (3 + 7 * i, 1 + i % 4))
    started = run_filing(filing_env, month, "div-640000")
    return {
        "month": month,
        "started": started,
        "figures": figures,
        "branches": per_branch,
        "ids": {
            "a": county_a["org_id"],
            "b": county_b["org_id"],
            "c": county_c["org_id"],
            "city": under_city["org_id"],
            "province": under_province["org_id"],
        },
    }


def test_every_department_of_the_subtree_is_filed_and_the_run_completes(platform, ningxia):
    from chalicelib.services.monthly_filing import progress

    assert ningxia["started"]["departments"] == 28
    state = progress(ningxia["month"])
    assert state["status"] == "complete" and state["finished"] == state["departments"] == 28


def test_county_city_province_and_centre_add_up_to_their_members(platform, ningxia):
    month, figures, per_branch, ids = (
        ningxia["month"],
        ningxia["figures"],
        ningxia["branches"],
        ningxia["ids"],
    )
    county = filed(platform, "div-640104", month).json_body
    in_county = per_branch[ids["a"]] + per_branch[ids["b"]]
    assert county["summary"] == summary_of(figures, in_county)
    assert county["rows"] == "members" and county["level"] == "county"
    city = filed(platform, "div-640100", month).json_body
    in_city = in_county + per_branch[ids["city"]]
    assert city["summary"] == summary_of(figures, in_city)
    assert city["rows"] == "orgs"
    province = filed(platform, "div-640000", month).json_body
    everyone = list(figures)
    assert province["summary"] == summary_of(figures, everyone)
    centre = filed(platform, "central", month).json_body
    assert centre["summary"] == province["summary"]
    assert [row["org_id"] for row in centre["items"]] == ["div-640000"]
    # the rollup equals the sum of the member rows filed anywhere below
    member_rows = []
    for county_id in ("div-640104", "div-640502"):
        member_rows += all_rows(platform, county_id, month)
    member_rows += all_rows(platform, "div-640100", month, rows="members")
    member_rows += all_rows(platform, "div-640000", month, rows="members")
    assert sorted(r["registration_number"] for r in member_rows) == sorted(everyone)
    assert sum(r["points"] for r in member_rows) == province["summary"]["points"]
    assert sum(1 for r in member_rows if r["active_days"]) == province["summary"]["active_members"]


def test_child_rows_carry_each_childs_figures(platform, ningxia):
    month, figures, per_branch, ids = (
        ningxia["month"],
        ningxia["figures"],
        ningxia["branches"],
        ningxia["ids"],
    )
    rows = {r["org_id"]: r for r in all_rows(platform, "div-640100", month)}
    assert set(rows) >= {"div-640104", "div-640105", ids["city"]}
    assert rows[ids["city"]]["level"] == "branch"
    assert rows[ids["city"]]["members"] == len(per_branch[ids["city"]])
    assert rows["div-640105"]["members"] == 0 and rows["div-640105"]["average_points"] is None
    county_branches = all_rows(platform, "div-640104", month, rows="orgs")
    assert {r["org_id"] for r in county_branches} == {ids["a"], ids["b"]}
    branch_view = filed(platform, ids["a"], month).json_body
    assert branch_view["summary"] == summary_of(figures, per_branch[ids["a"]])
    assert [r["registration_number"] for r in branch_view["items"]] == sorted(per_branch[ids["a"]])


def test_member_rows_page_with_a_cursor(platform, ningxia):
    month = ningxia["month"]
    first = filed(platform, "div-640104", month, limit=3).json_body
    assert len(first["items"]) == 3 and first["next_cursor"]
    second = filed(platform, "div-640104", month, limit=3, cursor=first["next_cursor"]).json_body
    seen = [r["registration_number"] for r in first["items"] + second["items"]]
    assert len(set(seen)) == len(seen) == 6
    assert filed(platform, "div-640105", month, cursor=first["next_cursor"]).status_code == 400


def test_archives_hold_the_same_figures_as_json_and_csv(platform, ningxia):
    month, ids = ningxia["month"], ningxia["ids"]
    stored = archives(month)
    for org_id in ("central", "div-640000", "div-640100", "div-640104", "div-640105", "div-640502"):
        assert f"filings/{month}/{org_id}.json" in stored and f"filings/{month}/{org_id}.csv" in stored
    county = json.loads(stored[f"filings/{month}/div-640104.json"])
    assert county["as_of"] == f"{month}-{county['as_of'][8:10]}T23:59:59+08:00"
    assert county["summary"] == filed(platform, "div-640104", month).json_body["summary"]
    assert len(county["members"]) == 8 and {c["org_id"] for c in county["children"]} == {ids["a"], ids["b"]}
    csv_lines = stored[f"filings/{month}/div-640104.csv"].decode("utf-8-sig").splitlines()
    assert csv_lines[0].startswith("registration_number,name,branch_id,points,active_days,login")
    assert len(csv_lines) == 1 + 8
    province_csv = stored[f"filings/{month}/div-640000.csv"].decode("utf-8-sig").splitlines()
    assert province_csv[0].startswith("org_id,name,level,members,active_members,points,average_points")
    assert len(province_csv) == 1 + 5 + 1  # five cities and the branch under the province


def test_a_rerun_gives_byte_identical_archives_and_writes_nothing_twice(
    platform, ningxia, filing_env, monkeypatch
):
    from chalicelib.store import participation_filings as fs

    month = ningxia["month"]
    before = archives(month)
    rows_before = all_rows(platform, "div-640104", month)
    uploads, row_writes = [], []
    put_archive, write_rows = fs.put_archive, fs.write_member_rows
    monkeypatch.setattr(fs, "put_archive", lambda *a: uploads.append(a[0]) or put_archive(*a))
    monkeypatch.setattr(
        fs, "write_member_rows", lambda *a: row_writes.append(write_rows(*a)) or row_writes[-1]
    )
    run_filing(filing_env, month, "div-640000")
    assert archives(month) == before
    assert uploads == [] and sum(row_writes) == 0  # the same bytes are not uploaded again
    assert all_rows(platform, "div-640104", month) == rows_before
    # forcing every upload still writes the very same bytes
    monkeypatch.setattr(fs, "summary_digests", lambda item: {})
    run_filing(filing_env, month, "div-640000")
    assert len(uploads) == 2 * 28 + 2  # every department of the province and the centre
    assert archives(month) == before


def test_filing_routes_validate_and_authorise(platform, ningxia):
    month, ids = ningxia["month"], ningxia["ids"]
    county_staff, county_token = platform.new_member()
    platform.grant("div-640104", county_staff)
    other_staff, other_token = platform.new_member()
    platform.grant("div-640502", other_staff)
    _, member_token = platform.new_member()

    assert filed(platform, "div-640104", month, county_token).status_code == 200
    assert filed(platform, ids["a"], month, county_token).status_code == 200
    assert filed(platform, "div-640100", month, county_token).status_code == 403  # above them
    assert filed(platform, "div-640104", month, other_token).status_code == 403  # another subtree
    assert filed(platform, ids["a"], month, other_token).status_code == 403
    assert filed(platform, "div-640104", month, member_token).status_code == 403
    assert platform.get(f"/v1/filings/participation?org_id=div-640104&month={month}").status_code == 401
    assert filed(platform, "no-such-org", month).status_code == 404
    assert filed(platform, "div-640104", "2014-01").status_code == 404  # not filed
    for bad in ({"month": "2015-13"}, {"month": "soon"}, {"rows": "everyone"}, {"limit": 0}, {"limit": 101}):
        query = {"org_id": "div-640104", "month": month, **bad}
        resp = platform.get(
            "/v1/filings/participation?" + "&".join(f"{k}={v}" for k, v in query.items()),
            platform.admin_token,
        )
        assert resp.status_code == 400, bad
    assert platform.get(f"/v1/filings/participation?month={month}", platform.admin_token).status_code == 400
    assert filed(platform, ids["a"], month, rows="orgs").status_code == 400


def test_without_a_month_the_filing_read_is_the_month_before(platform, ningxia):
    from chalicelib.services.participation import filing

    month = ningxia["month"]
    year, number = map(int, month.split("-"))
    next_month = datetime(year + number // 12, number % 12 + 1, 1, 0, 30, tzinfo=UTC)  # 08:30 in Shanghai
    header, _, _ = filing(platform.admin_number, "div-640104", None, None, 20, None, now=next_month)
    asked, _, _ = filing(platform.admin_number, "div-640104", month, None, 20, None, now=next_month)
    assert header == asked and header["month"] == month
    # over HTTP the default is the month before today's, which no test files: a clear 404, not a 400
    resp = platform.get("/v1/filings/participation?org_id=div-640104", platform.admin_token)
    assert resp.status_code == 404 and "no participation filing" in resp.json_body["detail"]


def test_participation_summary_feeds_org_statistics(platform, ningxia):
    from chalicelib.services.participation import participation_summary

    month, figures, per_branch, ids = (
        ningxia["month"],
        ningxia["figures"],
        ningxia["branches"],
        ningxia["ids"],
    )
    expected = summary_of(figures, per_branch[ids["a"]] + per_branch[ids["b"]])
    assert participation_summary("div-640104", month) == {
        "active_members": expected["active_members"],
        "average_points": expected["average_points"],
    }
    assert (
        participation_summary(ids["a"], month)["active_members"]
        == summary_of(figures, per_branch[ids["a"]])["active_members"]
    )
    assert participation_summary("div-640104", "2014-02") == {"active_members": 0, "average_points": None}
    stats = platform.get(f"/v1/stats/orgs/div-640104?month={month}", platform.admin_token)
    assert stats.status_code == 200, stats.body
    assert stats.json_body["active_members"] == expected["active_members"] > 0
    assert stats.json_body["average_points"] == expected["average_points"]
    branch_stats = platform.get(f"/v1/stats/orgs/{ids['a']}?month={month}", platform.admin_token).json_body
    assert branch_stats["active_members"] == summary_of(figures, per_branch[ids["a"]])["active_members"]


# ---- attribution, failures, continuation ---------------------------------------------------------


def test_a_member_who_moved_mid_month_is_filed_once_where_they_now_belong(platform, filing_env):
    month = unique_month()
    left, right = branch(platform, "div-640302"), branch(platform, "div-640303")
    figures, per_branch = populate([(left, 3), (right, 2)], month, lambda i: (10 + i, 2))
    mover = per_branch[left["org_id"]][0]
    move_member(mover, right)
    run_filing(filing_env, month, "div-640300")

    def numbers(county):
        return [r["registration_number"] for r in all_rows(platform, county, month)]

    assert mover not in numbers("div-640302") and mover in numbers("div-640303")
    city = filed(platform, "div-640300", month).json_body["summary"]
    assert city["members"] == 5 and city["points"] == sum(p for p, _ in figures.values())
    # moved back before a re-run: filed once again, now in the first county, and nowhere twice
    move_member(mover, left)
    run_filing(filing_env, month, "div-640300")
    assert mover in numbers("div-640302") and mover not in numbers("div-640303")
    assert filed(platform, "div-640300", month).json_body["summary"] == city
    assert filed(platform, "central", month).json_body["summary"] == city


def test_members_are_filed_where_they_were_when_the_month_ended_whatever_moves_later(platform, filing_env):
    from chalicelib.services import monthly_filing
    from chalicelib.services.transfers import decide, request_transfer

    month = unique_month()
    west, east = branch(platform, "div-640202"), branch(platform, "div-640205")
    figures, per_branch = populate([(west, 4), (east, 2)], month, lambda i: (10 + i, 2))
    early, during = per_branch[west["org_id"]][:2]

    def move(number, to):
        formal = request_transfer(number, to["org_id"], "formal", "moved after the month")
        decide(platform.admin_number, formal["transfer_id"], "accept", None)

    move(early, east)  # after the month ended, before its filing ran
    newcomer = platform.register(east["org_id"])["registration_number"]  # registered after the month
    monthly_filing.start(month, "div-640200", "test")
    sqs = boto3.client("sqs", region_name="us-east-1")
    messages = sqs.receive_message(QueueUrl=filing_env["queue_url"], MaxNumberOfMessages=10)["Messages"]
    by_org = {json.loads(m["Body"])["org_id"]: m for m in messages}
    assert set(by_org) == {"div-640200", "div-640202", "div-640205", "div-640221"}
    for m in messages:
        sqs.delete_message(QueueUrl=filing_env["queue_url"], ReceiptHandle=m["ReceiptHandle"])
    assert monthly_filing.process_job(json.loads(by_org["div-640202"]["Body"])) == "waiting"  # west filed
    move(during, east)  # a move while the run goes: west has filed them, east must not
    for org_id in ("div-640205", "div-640221", "div-640200"):
        monthly_filing.process_job(json.loads(by_org[org_id]["Body"]))
    drain(filing_env)

    def numbers(county):
        return sorted(r["registration_number"] for r in all_rows(platform, county, month))

    assert numbers("div-640202") == sorted(per_branch[west["org_id"]])
    assert numbers("div-640205") == sorted(per_branch[east["org_id"]])
    assert newcomer not in numbers("div-640205")
    city = filed(platform, "div-640200", month).json_body["summary"]
    assert city["members"] == 6 and city["points"] == sum(p for p, _ in figures.values())
    # a re-run now, with both movers in the east: the same filing, byte for byte
    before = archives(month)
    run_filing(filing_env, month, "div-640200", force=True)
    assert archives(month) == before


def test_a_failing_job_is_retried_then_dead_lettered_without_blocking_the_others(
    platform, filing_env, monkeypatch
):
    from chalicelib.services import monthly_filing

    month = unique_month()
    good, bad = branch(platform, "div-640402"), branch(platform, "div-640422")
    figures, per_branch = populate([(good, 2), (bad, 3)], month, lambda i: (5, 1))
    original = monthly_filing._file_own_branches
    attempts = []

    def failing(job, low_on_time):
        if job.org_id == "div-640422":
            attempts.append(job.org_id)
            raise RuntimeError("simulated failure")
        return original(job, low_on_time)

    monkeypatch.setattr(monthly_filing, "_file_own_branches", failing)
    pump = filing_env["pump"]
    failures_before = len(pump.failures)
    run_filing(filing_env, month, "div-640400")
    from chalicelib.config import QUEUE_MAX_RECEIVES, dead_letter_queue, get_settings

    assert len(attempts) == QUEUE_MAX_RECEIVES  # retried, then moved to the dead-letter queue
    given_up = list(pump.failures)[failures_before:]
    assert len(given_up) == 1 and given_up[0]["handler"] == JOBS
    sqs = boto3.client("sqs", region_name="us-east-1")
    dlq = sqs.get_queue_url(QueueName=dead_letter_queue(get_settings().participation_filing_queue))[
        "QueueUrl"
    ]
    dead = [
        json.loads(m["Body"]) for m in sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10)["Messages"]
    ]
    assert [(d["org_id"], d["month"]) for d in dead] == [("div-640422", month)]
    assert filed(platform, "div-640402", month).json_body["summary"]["members"] == 2  # others went on
    assert filed(platform, "div-640400", month).status_code == 404  # the city waits for its county
    assert monthly_filing.progress(month)["status"] == "running"

    monkeypatch.setattr(monthly_filing, "_file_own_branches", original)
    run_filing(
        filing_env, month, "div-640422", force=True
    )  # re-file just that county: everything above catches up
    city = filed(platform, "div-640400", month).json_body["summary"]
    assert city["members"] == 5 and city["points"] == 25
    assert filed(platform, "central", month).json_body["summary"] == city
    assert monthly_filing.progress(month)["status"] == "complete"


def test_a_long_job_continues_in_a_new_message(platform, filing_env, monkeypatch):
    from chalicelib.services import monthly_filing

    month = unique_month()
    branches = [branch(platform, "div-640424") for _ in range(3)]
    figures, _ = populate([(b, 5) for b in branches], month, lambda i: (2 * i + 1, 1))
    monkeypatch.setattr(monthly_filing, "PAGE", 2)
    monthly_filing.start(month, "div-640424", "test")
    sqs = boto3.client("sqs", region_name="us-east-1")
    (message,) = sqs.receive_message(QueueUrl=filing_env["queue_url"], MaxNumberOfMessages=10)["Messages"]
    sqs.delete_message(QueueUrl=filing_env["queue_url"], ReceiptHandle=message["ReceiptHandle"])
    clock = iter([30_000] + [60_000] * 3 + [1_000] * 1000)  # time runs out after a few pages
    outcome = monthly_filing.process_job(json.loads(message["Body"]), lambda: next(clock))
    assert outcome == "continued"
    drain(filing_env)
    summary = filed(platform, "div-640424", month).json_body["summary"]
    assert summary["members"] == 15 and summary["points"] == sum(p for p, _ in figures.values())
    assert len(all_rows(platform, "div-640424", month)) == 15
    # a job that files everything in one message keeps its rows and does not read them back:
    # its archives are the same bytes as those of the job that continued and read them back
    continued = archives(month)
    assert any(key.endswith("div-640424.json") for key in continued)
    run_filing(filing_env, month, "div-640424", force=True)
    assert archives(month) == continued


def test_a_superseded_or_malformed_job_does_no_work(platform, filing_env):
    from chalicelib.services import monthly_filing

    month = unique_month()
    first = monthly_filing.start(month, "div-640425", "test")
    body = {"month": month, "run": first["run"], "org_id": "div-640425", "root": "div-640425"}
    assert monthly_filing.process_job({**body, "run": "an-older-run"}) == "superseded"
    with pytest.raises(ValueError):
        monthly_filing.process_job({"month": "soon"})
    from chalicelib.domain.errors import Conflict

    with pytest.raises(Conflict):  # one run of a month at a time
        monthly_filing.start(month, "div-640425", "test")
    drain(filing_env)
    assert monthly_filing.progress(month)["status"] == "complete"
    from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

    event = platform.client.events.generate_sqs_event(
        message_bodies=["not json", json.dumps(body)], queue_name="q"
    )
    result = platform.client.lambda_.invoke(JOBS, event).payload
    assert [f["itemIdentifier"] for f in result["batchItemFailures"]] == [event["Records"][0]["messageId"]]
    with pytest.raises(BatchProcessingError):  # a batch of one that fails: SQS retries it, then dead-letters
        platform.client.lambda_.invoke(JOBS, platform.client.events.generate_sqs_event(message_bodies=["[]"]))


def test_a_month_not_over_or_a_non_department_cannot_be_filed(platform, filing_env):
    from chalicelib.domain.errors import ValidationFailed
    from chalicelib.domain.scoring import current_month
    from chalicelib.services.monthly_filing import start

    with pytest.raises(ValidationFailed):
        start(current_month(), "div-640104", "test")
    with pytest.raises(ValidationFailed):
        start(unique_month(), branch(platform, "div-640104")["org_id"], "test")


# ---- the schedule --------------------------------------------------------------------------------


def test_the_schedule_fires_at_0030_shanghai_on_the_first_and_files_the_month_before(platform, filing_env):
    from app import app
    from chalicelib.consumers.monthly_filing import SCHEDULE
    from chalicelib.local.cron import parse_schedule
    from chalicelib.services.monthly_filing import schedule_month

    expression = SCHEDULE.to_string()
    assert expression == "cron(30 16 L * ? *)"
    due = parse_schedule(expression).next_after(datetime(2026, 11, 15, tzinfo=UTC))
    assert due == datetime(2026, 11, 30, 16, 30, tzinfo=UTC)  # 1 December 00:30 in Shanghai
    assert schedule_month(due) == "2026-11"
    assert parse_schedule(expression).next_after(datetime(2027, 2, 1, tzinfo=UTC)).day == 28
    assert any(getattr(s, "name", "") == "participation_filing_schedule" for s in app.event_sources)

    # fired for the end of February 2014: the whole tree, one queued job per department
    event = {
        "version": "0",
        "id": "e",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": "2014-02-28T16:30:00Z",
        "region": "us-east-1",
        "resources": [],
        "detail": {},
    }
    sqs = boto3.client("sqs", region_name="us-east-1")
    started = platform.client.lambda_.invoke("participation_filing_schedule", event).payload
    try:
        assert started["month"] == "2014-02" and started["root"] == "central"
        assert started["departments"] == 1 + 3222
        queued = sqs.get_queue_attributes(
            QueueUrl=filing_env["queue_url"], AttributeNames=["ApproximateNumberOfMessages"]
        )["Attributes"]["ApproximateNumberOfMessages"]
        assert int(queued) == started["departments"]
    finally:
        sqs.purge_queue(QueueUrl=filing_env["queue_url"])


# ---- scale ---------------------------------------------------------------------------------------


def test_a_ten_thousand_member_county_is_filed_fast(platform, filing_env):
    month = unique_month()
    branches = [branch(platform, "div-640522") for _ in range(20)]
    t0 = time.monotonic()
    figures, _ = populate(
        [(b, 500) for b in branches], month, lambda i: (0, 0) if i % 5 == 4 else (i % 97, 1 + i % 9)
    )
    seeded = time.monotonic()
    run_filing(filing_env, month, "div-640522")
    took = time.monotonic() - seeded
    summary = filed(platform, "div-640522", month).json_body["summary"]
    assert summary["members"] == 10_000
    assert summary["points"] == sum(p for p, _ in figures.values())
    assert summary["active_members"] == sum(1 for _, active in figures.values() if active)
    assert filed(platform, "central", month).json_body["summary"] == summary
    assert len(json.loads(archive(f"filings/{month}/div-640522.json"))["members"]) == 10_000
    print(f"10,000 members: set-up {seeded - t0:.1f} s, filing {took:.1f} s")
    assert took < 120
