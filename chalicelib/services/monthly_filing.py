"""The monthly participation filing, fanned out as one queued job per department.

1. `start(month)` (the schedule at 00:30 Asia/Shanghai on the 1st, or `mmp filing run`) claims the
   month's run, walks the department tree below the root with Queries on `by_parent` (no Scan),
   writes one progress item per department (it waits for each child department and for its own
   branches) and queues one job per department, ten to a SendMessageBatch.
2. A job files its department's own branches: each branch's members come from a Query on
   `by_home_branch`, their month scores from BatchGetItem by key (only their own), and member rows
   are written only where they changed (stale ones deleted), so a re-run writes nothing new. A job
   near the end of its Lambda's time queues its own continuation instead of being cut off.
3. The job that completes a department's last part writes its summary (the sum of its child rows),
   its archives (`filings/{month}/{org_id}.json` and `.csv`, skipped when the bytes are unchanged),
   its row in the parent and the parent's part, and so on up to the run's root (the centre for the
   monthly run). A run rooted lower (one county, after its job went to the dead-letter queue, say)
   refreshes the totals of the departments above it from what they filed before.

A department's filing only ever adds up rows, never increments a total, so any job may run twice
(SQS delivers at least once) without counting anything twice.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from chalicelib.domain import filing
from chalicelib.domain.divisions import CENTRAL_ORG_ID
from chalicelib.domain.errors import NotFound, ValidationFailed
from chalicelib.domain.filing import MemberRow, OrgRow, Summary
from chalicelib.domain.orgs import Org
from chalicelib.domain.scoring import check_month, month_bounds, month_end, parse_at, previous_month
from chalicelib.observability import count, logger

OWN = "own"  # the part of a department that is its own branches
PAGE = 500  # members per Query page
MARGIN_MS = 10_000  # continue in a new message when less time than this is left
STALE_RUN = timedelta(hours=6)  # a run not finished by then may be replaced without --force

Remaining = Callable[[], float]


@dataclass(frozen=True)
class Job:
    """One queued unit of work: a department of a run, maybe resuming where an earlier message stopped."""

    month: str
    run: str
    org_id: str
    root: str
    resume: dict | None = None  # {"branch", "after", "partial"} or {"step": "settle"}

    def message(self) -> dict:
        body = {"month": self.month, "run": self.run, "org_id": self.org_id, "root": self.root}
        if self.resume:
            body["resume"] = self.resume
        return body

    @classmethod
    def parse(cls, body: object) -> Job:
        """A job from a message body; ValueError for anything else (it goes to the dead-letter queue)."""
        if not isinstance(body, dict):
            raise ValueError("a job is a JSON object")
        fields = [body.get(k) for k in ("month", "run", "org_id", "root")]
        if not all(isinstance(f, str) and 0 < len(f) <= 128 for f in fields):
            raise ValueError("a job needs month, run, org_id and root")
        month_bounds(fields[0])
        resume = body.get("resume")
        if resume is not None and not isinstance(resume, dict):
            raise ValueError("resume must be an object")
        return cls(*fields, resume=resume)


def schedule_month(event_time: str | datetime) -> str:
    """The month a scheduled firing files: the one before its Asia/Shanghai date."""
    return previous_month(parse_at(event_time) if isinstance(event_time, str) else event_time)


# ---- starting a run ------------------------------------------------------------------------------


def start(
    month: str,
    root: str = CENTRAL_ORG_ID,
    requested_by: str = "schedule",
    *,
    force: bool = False,
    now: datetime | None = None,
) -> dict:
    """Start filing `month` for the subtree of `root`: progress items, then one job per department."""
    from chalicelib.store import orgs
    from chalicelib.store import participation_filings as fs

    now = now or datetime.now(UTC)
    month = check_month(month, now, allow_current=False)
    root_org = orgs.get(root)
    if root_org is None or not root_org.is_department:
        raise ValidationFailed(
            "a filing is rooted at a department",
            errors=[{"field": "org_id", "message": f"{root} is not one"}],
        )
    run = f"{now:%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"
    fs.claim_run(
        month,
        run,
        root,
        requested_by,
        now.isoformat(timespec="seconds"),
        (now - STALE_RUN).isoformat(timespec="seconds"),
        force,
    )
    tree = departments_below(root_org)
    fs.put_progress(month, run, root, tree)
    fs.set_run_total(month, run, len(tree))
    fs.send_jobs([Job(month, run, org_id, root).message() for org_id, _ in tree])
    logger.info(
        "participation filing started",
        extra={"month": month, "run": run, "root": root, "departments": len(tree), "by": requested_by},
    )
    return {"month": month, "run": run, "root": root, "departments": len(tree)}


def departments_below(root: Org) -> list[tuple[str, int]]:
    """(org id, parts it waits for) for `root` and every department under it, parents first."""
    out: list[tuple[str, int]] = []
    queue = [root]
    while queue:
        org = queue.pop(0)
        below = [] if org.level == "county" else [c for c in _children(org.org_id) if c.is_department]
        out.append((org.org_id, len(below) + 1))
        queue.extend(sorted(below, key=lambda o: o.org_id))
    return out


def _children(org_id: str) -> list[Org]:
    from chalicelib.store import orgs

    out: list[Org] = []
    cursor = None
    while True:
        page = orgs.children(org_id, 1000, cursor)
        out.extend(page.items)
        cursor = page.last_key
        if not cursor:
            return out


def progress(month: str) -> dict | None:
    """The month's latest run: how many departments it has and how many are filed."""
    from chalicelib.store import participation_filings as fs

    run = fs.get_run(month)
    if run is None:
        return None
    return {
        "month": month,
        "run": run.run,
        "root": run.root,
        "status": run.status,
        "departments": run.total,
        "finished": run.finished,
        "requested_by": run.requested_by,
        "started_at": run.started_at,
        "finished_at": run.finished_at,
    }


# ---- a job ---------------------------------------------------------------------------------------


def process_job(body: object, remaining_ms: Remaining | None = None) -> str:
    """Do one job; returns `continued`, `waiting` (others still to finish), `done` or `superseded`."""
    from chalicelib.store import participation_filings as fs

    job = Job.parse(body)
    remaining_ms = remaining_ms or (lambda: 900_000.0)
    margin = min(MARGIN_MS, remaining_ms() / 3)

    def low_on_time() -> bool:
        return remaining_ms() < margin

    current = fs.get_progress(job.month, job.org_id)
    if current is None or current.run != job.run:
        logger.info("filing job superseded", extra={"month": job.month, "org_id": job.org_id, "run": job.run})
        return "superseded"
    own_rows = None
    if (job.resume or {}).get("step") != "settle" and OWN not in current.done:
        outcome, own_rows = _file_own_branches(job, low_on_time)
        if outcome != "done":
            return outcome
        current = fs.add_done(job.month, job.org_id, job.run, OWN)
        if current is None:
            return "superseded"
    return _settle(job, current, low_on_time, own_rows)


def _file_own_branches(job: Job, low_on_time: Callable[[], bool]) -> tuple[str, list[MemberRow] | None]:
    """File the members of the department's own branches; the outcome, and every member row when
    this one message filed them all (None when it resumed or continued: they are read back then)."""
    from chalicelib.store import participation_filings as fs

    branches = sorted((o for o in _children(job.org_id) if o.level == "branch"), key=lambda o: o.org_id)
    resume = job.resume or {}
    whole = [] if not resume else None  # every member row, when this one message files them all
    start_at, after = resume.get("branch"), resume.get("after")
    filed = 0
    for index, branch in enumerate(branches):
        if start_at is not None and branch.org_id < start_at:
            continue
        acc = Summary.from_state(resume.get("partial")) if branch.org_id == start_at else Summary()
        cursor = after if branch.org_id == start_at else None
        start_at = None
        while True:
            rows, last = _file_page(job.month, job.org_id, branch.org_id, cursor)
            for row in rows:
                acc.add(row)
            if whole is not None:
                whole.extend(rows)
            filed += len(rows)
            if last is None:
                break
            cursor = last
            if low_on_time():
                _continue(job, {"branch": branch.org_id, "after": cursor, "partial": acc.to_state()})
                count("FilingMembers", filed)
                return "continued", None
        fs.put_org_row(job.month, job.org_id, OrgRow(branch.org_id, branch.name, branch.level, acc), job.run)
        if index + 1 < len(branches) and low_on_time():
            _continue(job, {"branch": branches[index + 1].org_id, "after": None, "partial": None})
            count("FilingMembers", filed)
            return "continued", None
    count("FilingMembers", filed)
    ours = {b.org_id for b in branches}
    present = fs.read_partition(job.month, job.org_id, prefix=fs.ORG_PREFIX)
    stale = [cid for cid, (row, _run) in present.orgs.items() if row.level == "branch" and cid not in ours]
    if stale:
        fs.delete_org_rows(job.month, job.org_id, stale)
    return "done", whole


def _file_page(
    month: str, org_id: str, branch_id: str, after: str | None
) -> tuple[list[MemberRow], str | None]:
    """File one page of a branch's members; returns their rows and the last number if more follow.

    The page is the branch's members at the month's end with numbers in (after, last]: those the
    index lists now, less those who arrived or registered since, plus those who left since. The
    moves are read after the members, and consistently, so a move made while the job runs is seen
    by both branches' jobs alike: the member is filed once, in the branch they had at the month's end.
    """
    from chalicelib.store import participation
    from chalicelib.store import participation_filings as fs

    members, more = fs.members_of_branch(branch_id, after, PAGE)
    last = members[-1][0] if more and members else None
    moves = fs.month_end_moves(branch_id, month)
    end = month_end(month)
    present = {
        number: name
        for number, name, registered in members
        if number not in moves.arrived and filing.registered_by(registered, end)
    }
    for number, name in moves.left.items():
        if (after is None or number > after) and (last is None or number <= last):
            present.setdefault(number, name)
    scores = participation.month_scores(list(present), month)
    rows = []
    for number, name in sorted(present.items()):
        score = scores.get(number)
        if score is None:
            rows.append(MemberRow(number, name, branch_id))
        else:
            rows.append(
                filing.member_row(number, name, branch_id, score.points, score.active_days, score.counts)
            )
    existing = fs.member_rows_between(month, org_id, branch_id, after, last)
    wanted = {fs.member_entry(r.branch_id, r.registration_number): r for r in rows}
    changed = [r for entry, r in wanted.items() if existing.get(entry) != r]
    fs.write_member_rows(month, org_id, changed, [e for e in existing if e not in wanted])
    return rows, last


def _continue(job: Job, resume: dict) -> None:
    from chalicelib.store import participation_filings as fs

    fs.send_jobs([replace(job, resume=resume).message()])
    logger.info("filing job continues in a new message", extra={"month": job.month, "org_id": job.org_id})


def _settle(
    job: Job, current, low_on_time: Callable[[], bool], own_rows: list[MemberRow] | None = None
) -> str:
    """Write every department of this chain whose parts are all done, from this one up to the root
    (`own_rows`: the job's department's member rows, when it holds them all)."""
    from chalicelib.store import orgs
    from chalicelib.store import participation_filings as fs

    org_id = job.org_id
    while True:
        if not current.complete:
            return "waiting"
        org = orgs.get(org_id)
        if org is None:
            raise NotFound(f"org {org_id} is gone")
        summary = write_department(job.month, org, job.run, own_rows if org_id == job.org_id else None)
        if fs.mark_finalized(job.month, org_id, job.run):
            fs.count_finished(job.month, job.run)
        if org_id == job.root:
            _refresh_above(job.month, org, summary, job.run)
            fs.finish_run(job.month, job.run, datetime.now(UTC).isoformat(timespec="seconds"))
            logger.info("participation filing complete", extra={"month": job.month, "run": job.run})
            return "done"
        parent = org.parent_id
        fs.put_org_row(job.month, parent, OrgRow(org.org_id, org.name, org.level, summary), job.run)
        current = fs.add_done(job.month, parent, job.run, org_id)
        if current is None:
            return "superseded"
        if current.complete and low_on_time():
            _continue(replace(job, org_id=parent), {"step": "settle"})
            return "continued"
        org_id = parent


def write_department(month: str, org: Org, run: str, members: list[MemberRow] | None = None) -> Summary:
    """A department's summary and archives from its rows (child orgs and own members); returns the sum.

    `members`: its member rows as just filed, so they need not be read back (the largest read of a
    county's job); without them they are read from the filing with the rest."""
    from chalicelib.store import participation_filings as fs

    filed = fs.read_partition(month, org.org_id, members=members is None)
    children = [row for row, _run in filed.orgs.values()]
    members = list(filed.members.values()) if members is None else members
    summary = Summary.total(row.summary for row in children)
    header = {
        "kind": "participation",
        "month": month,
        "as_of": month_end(month),
        "org_id": org.org_id,
        "name": org.name,
        "level": org.level,
        "parent_id": org.parent_id,
        "division_code": org.division_code,
    }
    json_key, csv_key = filing.archive_keys(month, org.org_id)
    archives = (
        (
            json_key,
            filing.archive_json(header, summary, children, members),
            "application/json; charset=utf-8",
        ),
        (csv_key, filing.archive_csv(org.level, children, members), "text/csv; charset=utf-8"),
    )
    before = fs.summary_digests(filed.summary)
    digests = {}
    for key, body, content_type in archives:
        digest = fs.body_digest(body)
        if before.get(key) != digest:
            fs.put_archive(key, body, content_type)
        digests[key] = digest
    fs.put_summary(month, org, summary, len(children), run, digests)
    return summary


def _refresh_above(month: str, root: Org, summary: Summary, run: str) -> None:
    """After a run rooted below the centre: the departments above add up their rows again."""
    from chalicelib.store import orgs
    from chalicelib.store import participation_filings as fs

    child, child_summary = root, summary
    for ancestor_id in reversed(root.path[:-1]):
        ancestor = orgs.get(ancestor_id)
        if ancestor is None:
            return
        fs.put_org_row(month, ancestor_id, OrgRow(child.org_id, child.name, child.level, child_summary), run)
        child_summary = write_department(month, ancestor, run)
        child = ancestor
