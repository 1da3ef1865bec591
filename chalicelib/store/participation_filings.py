"""The monthly participation filing's items, its job queue and its archives in the content bucket.

Layout of the `participation_filings` table (hash `filing_id`, range `entry`):
- `{month}#{org_id}`: `summary` (the department's totals), `o#{child_id}` (a child org's totals, as
  filed by the child's own work) and `m#{branch_id}#{number}` (a member of one of its own branches);
- `{month}#progress`: one item per department of the current run, `entry` = org id: how many parts
  it waits for (`expected`: its child departments and its own branches) and which are `done`;
- `{month}#run`: the run (`entry` = "run"): who started it, how many departments, how many finished.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pynamodb.exceptions import PutError, UpdateError

from chalicelib.domain.errors import Conflict
from chalicelib.domain.filing import MemberRow, MonthEndMoves, OrgRow, Summary, registered_by
from chalicelib.domain.orgs import Org
from chalicelib.store import models
from chalicelib.store.errors import is_conditional_failure
from chalicelib.store.pages import Page, query_page

F = models.ParticipationFiling
SUMMARY = "summary"
ORG_PREFIX = "o#"
MEMBER_PREFIX = "m#"
RUN = "run"


def partition(month: str, org_id: str) -> str:
    return f"{month}#{org_id}"


def member_entry(branch_id: str, number: str) -> str:
    return f"{MEMBER_PREFIX}{branch_id}#{number}"


def _compact(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


# ---- runs and progress ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    month: str
    run: str
    root: str
    status: str
    total: int
    finished: int
    requested_by: str | None
    started_at: str
    finished_at: str | None


def _to_run(month: str, item: F) -> Run:
    return Run(
        month=month,
        run=item.run or "",
        root=item.root or "",
        status=item.status or "running",
        total=int(item.total or 0),
        finished=int(item.finished or 0),
        requested_by=item.requested_by,
        started_at=item.started_at or "",
        finished_at=item.finished_at,
    )


def get_run(month: str) -> Run | None:
    try:
        return _to_run(month, F.get(partition(month, RUN), RUN, consistent_read=True))
    except F.DoesNotExist:
        return None


def claim_run(
    month: str, run: str, root: str, requested_by: str, started_at: str, stale_before: str, force: bool
) -> None:
    """Start a run of `month` unless one is still going (started after `stale_before`); 409 if so."""
    item = F(
        partition(month, RUN),
        RUN,
        run=run,
        root=root,
        status="running",
        total=0,
        finished=0,
        requested_by=requested_by,
        started_at=started_at,
    )
    condition = None
    if not force:
        condition = F.filing_id.does_not_exist() | (F.status == "complete") | (F.started_at < stale_before)
    try:
        item.save(condition=condition)
    except PutError as exc:
        if is_conditional_failure(exc):
            raise Conflict(
                f"a filing of {month} is running; wait for it to finish, or force a new run"
            ) from exc
        raise


def set_run_total(month: str, run: str, total: int) -> None:
    F(partition(month, RUN), RUN).update(actions=[F.total.set(total)], condition=F.run == run)


def count_finished(month: str, run: str) -> None:
    """One more department of the run is filed (called once per department, see `mark_finalized`)."""
    try:
        F(partition(month, RUN), RUN).update(actions=[F.finished.add(1)], condition=F.run == run)
    except UpdateError as exc:
        if not is_conditional_failure(exc):  # a newer run took over: nothing to count
            raise


def finish_run(month: str, run: str, at: str) -> None:
    try:
        F(partition(month, RUN), RUN).update(
            actions=[F.status.set("complete"), F.finished_at.set(at)], condition=F.run == run
        )
    except UpdateError as exc:
        if not is_conditional_failure(exc):
            raise


@dataclass(frozen=True)
class Progress:
    org_id: str
    run: str
    root: str
    expected: int
    done: frozenset[str]
    finalized_run: str | None

    @property
    def complete(self) -> bool:
        return len(self.done) >= self.expected


def _to_progress(item: F) -> Progress:
    return Progress(
        org_id=item.entry,
        run=item.run or "",
        root=item.root or "",
        expected=int(item.expected or 0),
        done=frozenset(item.done or ()),
        finalized_run=item.finalized_run,
    )


def put_progress(month: str, run: str, root: str, expected: Iterable[tuple[str, int]]) -> int:
    """One progress item per department of a run (overwriting an earlier run's): batch writes."""
    count = 0
    with F.batch_write() as batch:
        for org_id, n in expected:
            batch.save(F(partition(month, "progress"), org_id, run=run, root=root, expected=n))
            count += 1
    return count


def get_progress(month: str, org_id: str) -> Progress | None:
    try:
        return _to_progress(F.get(partition(month, "progress"), org_id, consistent_read=True))
    except F.DoesNotExist:
        return None


def add_done(month: str, org_id: str, run: str, part: str) -> Progress | None:
    """Record one finished part of a department (idempotent); None if the run is not this one."""
    item = F(partition(month, "progress"), org_id)
    try:
        item.update(actions=[F.done.add({part})], condition=F.run == run)
    except UpdateError as exc:
        if is_conditional_failure(exc):
            return None
        raise
    return _to_progress(item)


def mark_finalized(month: str, org_id: str, run: str) -> bool:
    """True the first time a department's filing of this run is written (counts it once)."""
    try:
        F(partition(month, "progress"), org_id).update(
            actions=[F.finalized_run.set(run)],
            condition=(F.run == run) & (F.finalized_run.does_not_exist() | (F.finalized_run != run)),
        )
    except UpdateError as exc:
        if is_conditional_failure(exc):
            return False
        raise
    return True


# ---- a department's partition --------------------------------------------------------------------


@dataclass
class Filed:
    """What a department's partition holds: its summary item, child org rows and member rows."""

    summary: F | None = None
    orgs: dict[str, tuple[OrgRow, str | None]] = field(default_factory=dict)  # child id -> (row, run)
    members: dict[str, MemberRow] = field(default_factory=dict)  # entry -> row


def _to_member(item: F) -> MemberRow:
    return MemberRow(
        registration_number=item.registration_number or "",
        name=item.name or "",
        branch_id=item.branch_id or "",
        points=int(item.points or 0),
        active_days=int(item.active_days or 0),
        counts=json.loads(item.counts or "{}"),
    )


def _to_org_row(item: F) -> OrgRow:
    return OrgRow(
        org_id=item.org_id or "",
        name=item.name or "",
        level=item.level or "",
        summary=Summary.from_state(json.loads(item.figures or "{}")),
    )


def read_partition(month: str, org_id: str, prefix: str | None = None, *, members: bool = True) -> Filed:
    """Everything filed for a department (or only entries starting with `prefix`; or, with
    `members=False`, all but the member rows, which sort first): one paged Query."""
    assert SUMMARY > ORG_PREFIX > MEMBER_PREFIX  # noqa: S101 - the key layout `members=False` relies on
    condition = None
    if prefix:
        condition = F.entry.startswith(prefix)
    elif not members:
        condition = F.entry >= ORG_PREFIX
    out = Filed()
    for item in F.query(partition(month, org_id), condition, consistent_read=True):
        if item.entry == SUMMARY:
            out.summary = item
        elif item.entry.startswith(ORG_PREFIX):
            out.orgs[item.entry[len(ORG_PREFIX) :]] = (_to_org_row(item), item.run)
        elif item.entry.startswith(MEMBER_PREFIX):
            out.members[item.entry] = _to_member(item)
    return out


def member_rows_between(
    month: str, org_id: str, branch_id: str, after: str | None, through: str | None
) -> dict:
    """Filed member rows of one branch with numbers in (after, through] (None: open): entry -> row."""
    low = member_entry(branch_id, after or "")
    high = member_entry(branch_id, through) if through else f"{MEMBER_PREFIX}{branch_id}$"  # '$' > '#'
    out = {}
    for item in F.query(partition(month, org_id), F.entry.between(low, high), consistent_read=True):
        if after is not None and item.entry == low:
            continue
        out[item.entry] = _to_member(item)
    return out


def _member_item(month: str, org_id: str, row: MemberRow) -> F:
    return F(
        partition(month, org_id),
        member_entry(row.branch_id, row.registration_number),
        registration_number=row.registration_number,
        name=row.name,
        branch_id=row.branch_id,
        points=row.points,
        active_days=row.active_days,
        counts=_compact(dict(row.counts)),
    )


def write_member_rows(month: str, org_id: str, put: Sequence[MemberRow], delete: Iterable[str]) -> int:
    """Put changed member rows and delete stale entries: batch writes of 25; returns items written."""
    delete = list(delete)
    if not put and not delete:
        return 0
    with F.batch_write() as batch:
        for row in put:
            batch.save(_member_item(month, org_id, row))
        for entry in delete:
            batch.delete(F(partition(month, org_id), entry))
    return len(put) + len(delete)


def delete_org_rows(month: str, org_id: str, child_ids: Iterable[str]) -> int:
    """Remove child org rows (and, for branches, their member rows) that no longer belong here."""
    count = 0
    with F.batch_write() as batch:
        for child in child_ids:
            batch.delete(F(partition(month, org_id), f"{ORG_PREFIX}{child}"))
            count += 1
            for item in F.query(
                partition(month, org_id),
                F.entry.startswith(f"{MEMBER_PREFIX}{child}#"),
                attributes_to_get=["entry"],
            ):
                batch.delete(F(partition(month, org_id), item.entry))
                count += 1
    return count


def put_org_row(month: str, parent_id: str, row: OrgRow, run: str) -> None:
    """A child org's totals in its parent's partition."""
    F(
        partition(month, parent_id),
        f"{ORG_PREFIX}{row.org_id}",
        run=run,
        org_id=row.org_id,
        name=row.name,
        level=row.level,
        figures=_compact(row.summary.to_state()),
    ).save()


def put_summary(month: str, org: Org, summary: Summary, children: int, run: str, digests: dict) -> None:
    F(
        partition(month, org.org_id),
        SUMMARY,
        run=run,
        org_id=org.org_id,
        name=org.name,
        level=org.level,
        parent_id=org.parent_id,
        division_code=org.division_code,
        figures=_compact(summary.to_state()),
        children=children,
        digests=_compact(digests),
    ).save()


def summary_digests(item: F | None) -> dict:
    return json.loads(item.digests or "{}") if item is not None else {}


@dataclass(frozen=True)
class FiledOrg:
    """What the API and statistics read of an org's filing."""

    org_id: str
    name: str
    level: str
    summary: Summary
    children: int | None


def get_department(month: str, org_id: str) -> FiledOrg | None:
    """A department's filed summary: one GetItem."""
    try:
        item = F.get(partition(month, org_id), SUMMARY)
    except F.DoesNotExist:
        return None
    return FiledOrg(
        item.org_id or org_id,
        item.name or "",
        item.level or "",
        Summary.from_state(json.loads(item.figures or "{}")),
        int(item.children or 0),
    )


def get_branch(month: str, parent_id: str, branch_id: str) -> FiledOrg | None:
    """A branch's filed totals, kept in its department's partition: one GetItem."""
    try:
        row = _to_org_row(F.get(partition(month, parent_id), f"{ORG_PREFIX}{branch_id}"))
    except F.DoesNotExist:
        return None
    return FiledOrg(row.org_id, row.name, row.level, row.summary, None)


def rows_page(month: str, org_id: str, prefix: str, limit: int, cursor: dict | None) -> Page:
    """One page of a department's child org rows (`o#`) or member rows (`m#...`): one Query."""
    convert = _to_org_row if prefix.startswith(ORG_PREFIX) else _to_member
    return query_page(
        F, partition(month, org_id), limit, cursor, convert, range_key_condition=F.entry.startswith(prefix)
    )


# ---- the job queue and the archives --------------------------------------------------------------


def send_jobs(messages: Sequence[dict]) -> int:
    """Send job messages to the filing queue, ten per SendMessageBatch; raise if any was refused."""
    from chalicelib.config import get_settings
    from chalicelib.store.clients import client

    sqs = client("sqs")
    url = sqs.get_queue_url(QueueName=get_settings().participation_filing_queue)["QueueUrl"]
    sent = 0
    for i in range(0, len(messages), 10):
        chunk = messages[i : i + 10]
        entries = [{"Id": str(n), "MessageBody": _compact(m)} for n, m in enumerate(chunk)]
        for _attempt in range(3):
            result = sqs.send_message_batch(QueueUrl=url, Entries=entries)
            failed = {f["Id"] for f in result.get("Failed", [])}
            entries = [e for e in entries if e["Id"] in failed]
            if not entries:
                break
        if entries:
            raise RuntimeError(f"{len(entries)} filing job(s) could not be queued")
        sent += len(chunk)
    return sent


def members_of_branch(
    branch_id: str, after: str | None, limit: int
) -> tuple[list[tuple[str, str, str]], bool]:
    """(number, name, registered at) of a branch's members after `after`, by number; and whether
    more follow. One Query."""
    condition = models.Member.registration_number > after if after else None
    result = models.Member.by_home_branch.query(
        branch_id,
        range_key_condition=condition,
        limit=limit,
        page_size=limit,
        attributes_to_get=["registration_number", "name", "home_branch_id", "created_at"],
    )
    members = [(item.registration_number, item.name, item.created_at or "") for item in result]
    return members, result.last_evaluated_key is not None


def month_end_moves(branch_id: str, month: str) -> MonthEndMoves:
    """The formal moves into and out of a branch since `month` ended: one consistent Query of the
    branch's transfer links (written in the same transaction as each move), from the oldest
    transfer that could still have been pending then; plus the registration time of those who left
    (one BatchGetItem per 100), since someone registered after the month is not in it."""
    from chalicelib.domain.scoring import month_end
    from chalicelib.domain.transfers import FORMAL_EXPIRY, id_floor

    end = month_end(month)
    oldest = id_floor(datetime.fromisoformat(end) - FORMAL_EXPIRY)
    L = models.TransferLink
    moves = [
        (link.effective_at, link.direction, link.registration_number, link.member_name)
        for link in L.query(branch_id, L.transfer_id >= oldest, consistent_read=True)
        if link.kind == "formal" and link.status == "effective" and link.effective_at
    ]
    found = MonthEndMoves.of(moves, end)
    if not found.left:
        return found
    registered = {
        item.registration_number: item.created_at or ""
        for item in models.Member.batch_get(
            list(found.left), attributes_to_get=["registration_number", "created_at"]
        )
    }
    left = {n: name for n, name in found.left.items() if registered_by(registered.get(n, ""), end)}
    return MonthEndMoves(left=left, arrived=found.arrived)


def body_digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def put_archive(key: str, body: bytes, content_type: str) -> str:
    """Write one archive object to the content bucket; returns the body's SHA-256."""
    from chalicelib.config import get_settings
    from chalicelib.store.clients import client

    client("s3").put_object(
        Bucket=get_settings().content_bucket, Key=key, Body=body, ContentType=content_type
    )
    return body_digest(body)


def get_archive(key: str) -> bytes | None:
    """An archive's bytes, or None."""
    from chalicelib.config import get_settings
    from chalicelib.store.clients import client

    s3 = client("s3")
    try:
        return s3.get_object(Bucket=get_settings().content_bucket, Key=key)["Body"].read()
    except s3.exceptions.NoSuchKey:
        return None
