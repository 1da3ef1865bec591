"""Helpers for the participation tests (and `bench/participation.py`): fast set-up and moto queries.

moto answers a Query by walking every item of the table (a GSI Query by comparing each item with
moto's slow `DynamoType.__eq__`), so a Query costs time in proportion to the table, not to the
partition it reads as on DynamoDB. `fast_moto_queries()` hands moto's own Query code only the items
of the partition asked for (or those whose index key matches), which keeps its results, order and
paging exactly as they were and makes a per-member read cost what it costs on DynamoDB: a 10,000-member
filing would otherwise take minutes.
"""

from __future__ import annotations

import contextlib
import inspect
import itertools
import json
import threading
from datetime import date, timedelta

from chalicelib.domain.filing import Summary
from chalicelib.domain.registration import compose

_local = threading.local()
_installed = False


def fast_moto_queries() -> None:
    """Patch moto's Table.query to look only at candidate items (idempotent, same results)."""
    global _installed
    if _installed:
        return
    from moto.dynamodb.models.table import Table

    original_query, original_all_items = Table.query, Table.all_items
    signature = inspect.signature(original_query)

    def all_items(self):  # type: ignore[no-untyped-def]
        scoped = getattr(_local, "candidates", None)
        if scoped is not None and scoped[0] is self:
            return scoped[1]
        return original_all_items(self)

    def query(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        bound = signature.bind(self, *args, **kwargs).arguments
        hash_key, index_name = bound.get("hash_key"), bound.get("index_name")
        conditions = bound.get("hash_key_conditions")
        if index_name is None and hash_key is not None:
            part = self.items.get(hash_key)
            candidates = [] if part is None else list(part.values()) if isinstance(part, dict) else [part]
        elif index_name and conditions:
            wanted = [(name, value.type, value.value, value) for name, value in conditions]
            candidates = []
            for part in self.items.values():
                for item in part.values() if isinstance(part, dict) else (part,):
                    for name, type_, raw, value in wanted:
                        found = item.attrs.get(name)
                        if found is None or found.type != type_ or (found.value != raw and found != value):
                            break
                    else:
                        candidates.append(item)
        else:
            return original_query(self, *args, **kwargs)
        # moto sorts the candidates itself, by the keys of the table or index, as it sorts all items
        _local.candidates = (self, candidates)
        try:
            return original_query(self, *args, **kwargs)
        finally:
            _local.candidates = None

    Table.query = query
    Table.all_items = all_items
    _installed = True


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
