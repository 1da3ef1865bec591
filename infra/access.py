"""What each Lambda function may touch: the least-privilege grants the stack turns into IAM.

Every function the Chalice app defines (the API and each consumer) must have an entry here; the
stack refuses to synthesise otherwise, so a new consumer cannot ship with borrowed rights.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Access:
    tables: tuple[str, ...] = ()  # logical table names, read and write
    read_tables: tuple[str, ...] = ()  # logical table names, read only
    streams: tuple[str, ...] = ()  # tables whose stream the function reads
    queues: tuple[str, ...] = ()  # settings attribute names of queues it consumes
    send_queues: tuple[str, ...] = ()  # settings attribute names of queues it sends to
    bucket: str = ""  # "" none, "read", "write", "read_write"
    cognito_admin: bool = False
    reports_key_encrypt: bool = False
    extra: dict = field(default_factory=dict)


ALL_TABLES = "*"

ACCESS: dict[str, Access] = {
    # the API serves every route, so it reads and writes every table; it never decrypts reporters
    "api_handler": Access(
        tables=(ALL_TABLES,), bucket="read_write", cognito_admin=True, reports_key_encrypt=True
    ),
    "org_member_counts": Access(tables=("orgs", "stream_marks"), streams=("members",)),
    # takes the members out of a dissolved virtual branch, a page per record of its own stream
    "branch_dissolution": Access(
        tables=("virtual_branches", "vb_memberships", "vb_join_requests", "members", "orgs", "role_grants"),
        streams=("virtual_branches",),
    ),
    # participation (issue 6): scoring reads the activity stream into month tallies (and seeds the
    # rules when none are stored); the monthly schedule queues one job per department; a job reads
    # orgs, members and tallies, writes filing rows and archives, and may queue its continuation
    "participation_scoring": Access(tables=("participation", "scoring_rules"), streams=("activity",)),
    "participation_filing_schedule": Access(
        tables=("participation_filings",),
        read_tables=("orgs",),
        send_queues=("participation_filing_queue",),
    ),
    "participation_filing_jobs": Access(
        tables=("participation_filings",),
        read_tables=("orgs", "members", "participation"),
        queues=("participation_filing_queue",),
        send_queues=("participation_filing_queue",),
        bucket="write",
    ),
}
