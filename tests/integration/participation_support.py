"""Helpers for the participation tests (and `bench/participation.py`): fast set-up, and moto's
Query made to cost what it costs on DynamoDB (`fast_moto_queries`, from `chalicelib/local`)."""

from __future__ import annotations

import contextlib
import itertools
import json
from datetime import date, timedelta

from chalicelib.domain.filing import Summary
from chalicelib.domain.registration import compose
from chalicelib.local.fastquery import install as fast_moto_queries  # noqa: F401 (tests and bench use it)


def ensure_filing_queue() -> str:
    """The filing queue (infra creates it on AWS, the local pump locally): its URL."""
    import boto3

    from chalicelib.config import get_settings

    sqs = boto3.client("sqs", region_name="us-east-1")
    return sqs.create_queue(QueueName=get_settings().participation_filing_queue)["QueueUrl"]


def ensure_content_bucket() -> str:
    import boto3

    from chalicelib.config import get_settings

    name = get_settings().content_bucket
    s3 = boto3.client("s3", region_name="us-east-1")
    with contextlib.suppress(s3.exceptions.BucketAlreadyOwnedByYou, s3.exceptions.BucketAlreadyExists):
        s3.create_bucket(Bucket=name)
    return name


_days = itertools.count()
_REGION = "650102"  # numbers of synthetic members: a region and join dates nobody registers with
_BASE = date(1951, 1, 1)


def synthetic_numbers(n: int) -> list[str]:
    """Fresh, valid-looking registration numbers that no test registers (999 per join day)."""
    out = []
    while len(out) < n:
        day = _BASE + timedelta(days=next(_days))
        out.extend(compose(_REGION, day, seq) for seq in range(1, 1000))
    return out[:n]


def seed_members(branch, numbers, names=None) -> None:
    """Member items in a branch, written with batch writes (no registration, no Cognito)."""
    from chalicelib.store import models

    with models.Member.batch_write() as batch:
        for i, number in enumerate(numbers):
            batch.save(
                models.Member(
                    number,
                    name=(names[i] if names else f"成员{i}"),
                    region_code=number[:6],
                    join_date="1951-01-01",
                    home_branch_id=branch["org_id"],
                    home_path=list(branch["path"]),
                    status="active",
                    created_at="2000-01-01T00:00:00+00:00",  # before every month the tests file
                    version=1,  # as a registration leaves it, so transfers work on these members
                )
            )


def seed_scores(scores: dict, month: str) -> None:
    """Month tallies {number: (points, active_days, counts)}, written with batch writes."""
    from chalicelib.store import models

    with models.ParticipationMonth.batch_write() as batch:
        for number, (points, active_days, counts) in scores.items():
            batch.save(
                models.ParticipationMonth(
                    number,
                    month,
                    points=points,
                    active_days=active_days,
                    counts=json.dumps(counts),
                    days="{}",
                    recent="{}",
                    updated_at="2020-01-01T00:00:00+00:00",
                    expires_at=4_000_000_000,
                )
            )


def move_member(number: str, branch) -> None:
    """Change a member's home branch as an accepted formal transfer does."""
    from chalicelib.store import models

    models.Member(number).update(
        actions=[
            models.Member.home_branch_id.set(branch["org_id"]),
            models.Member.home_path.set(list(branch["path"])),
        ],
        add_version_condition=False,
    )


def expected_summary(points_by_member: dict, members: list[str], active: set[str]) -> Summary:
    from chalicelib.domain.filing import MemberRow

    return Summary.of(
        MemberRow(n, "", "", points_by_member.get(n, 0), 1 if n in active else 0) for n in members
    )
