"""What each Lambda function may touch: the least-privilege grants the stack turns into IAM.

Every function the Chalice app defines (the API and each consumer) must have an entry here; the
stack refuses to synthesise otherwise, so a new consumer cannot ship with borrowed rights. Each
entry was read off the code the function runs (consumer -> service -> store): a table is
`read_tables` when the code only reads it, `write_tables` when it only writes it (puts, updates,
deletes, conditional or not: a condition needs no read right), `tables` when both. The stack also
checks that `streams` and `queues` name exactly the event sources Chalice declares for a function.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Access:
    tables: tuple[str, ...] = ()  # logical table names, read and write
    read_tables: tuple[str, ...] = ()  # logical table names, read only (GetItem, BatchGetItem, Query)
    write_tables: tuple[str, ...] = ()  # logical table names, write only (Put/Update/Delete, BatchWrite)
    streams: tuple[str, ...] = ()  # tables whose stream is the function's event source
    queues: tuple[str, ...] = ()  # settings attribute names of the queue that is its event source
    send_queues: tuple[str, ...] = ()  # settings attribute names of queues it sends to
    # content bucket, by key prefix (`bulletins/`, `rejections/`, `filings/`); reading also lists the
    # bucket, so that a missing key is a NoSuchKey the code handles, not an AccessDenied
    bucket_read: tuple[str, ...] = ()
    bucket_write: tuple[str, ...] = ()
    bucket_delete: tuple[str, ...] = ()
    cognito_admin: bool = False
    reports_key_encrypt: bool = False  # kms:Encrypt with the reports key (nothing may Decrypt)
    reports_lookup_mac: bool = False  # kms:GenerateMac with the HMAC_256 lookup key
    put_events: bool = False  # events:PutEvents on the platform bus (settings.event_bus)
    bulletin_topics: bool = False  # sns:CreateTopic and sns:Publish on `{bulletin_topic_prefix}*`


ALL_TABLES = "*"

ACCESS: dict[str, Access] = {
    # the API serves every route, so it reads and writes every table. Bucket: it signs editors' upload
    # URLs (the URL carries the API role's right to PutObject under bulletins/) and reads an upload's
    # rejection. KMS: it seals reporters (Encrypt) and finds a reporter's own reports (GenerateMac).
    "api_handler": Access(
        tables=(ALL_TABLES,),
        bucket_read=("rejections/",),
        bucket_write=("bulletins/",),
        cognito_admin=True,
        reports_key_encrypt=True,
        reports_lookup_mac=True,
    ),
    "org_member_counts": Access(tables=("orgs", "stream_marks"), streams=("members",)),
    # takes the members out of a dissolved virtual branch, a page per record of its own stream
    "branch_dissolution": Access(
        tables=("virtual_branches", "vb_memberships", "vb_join_requests", "members", "orgs", "role_grants"),
        streams=("virtual_branches",),
    ),
    # the hourly sweep re-kicking stalled dissolutions: Query on the branches' sparse `dissolving`
    # index and GetItem, then one page of the clean-up as above: memberships queried and deleted,
    # member items and org counts updated (conditional writes, never read), requests queried and
    # closed, office grants queried and deleted, the branch record's step written
    "branch_dissolution_sweep": Access(
        tables=("virtual_branches", "vb_memberships", "vb_join_requests", "role_grants"),
        write_tables=("members", "orgs"),
    ),
    # transfers (issue 2): filing items are BatchWriteItem'd with fixed keys, never read back here
    "transfer_filing": Access(write_tables=("transfer_filings",), streams=("transfers",)),
    # statistics: counter ADDs and a StreamMark put, in one TransactWriteItems per record or batch
    "transfer_stats": Access(write_tables=("org_stats", "stream_marks"), streams=("transfers",)),
    "member_stats": Access(write_tables=("org_stats", "stream_marks"), streams=("members",)),
    "branch_stats": Access(write_tables=("org_stats", "stream_marks"), streams=("virtual_branches",)),
    # the daily sweep: Query on transfers' pending_by_day, GetItem of each transfer and the member's
    # transfer state, then one transaction writing the transfer, its links and the freed slot
    "transfer_expiry": Access(
        tables=("transfers", "member_transfers"),
        write_tables=("transfer_links",),
    ),
    # bulletins (issue 5): S3 notifications arrive on the upload queue; the ingest reads the upload,
    # reads the edition and the scope's department, publishes edition, feed entries and articles in
    # one transaction (or writes rejections/...), deletes dropped articles and a stale rejection, and
    # sends BulletinPublished to the platform bus
    "bulletin_ingest": Access(
        tables=("editions",),
        read_tables=("orgs",),
        write_tables=("feed", "articles"),
        queues=("bulletin_queue",),
        bucket_read=("bulletins/",),
        bucket_write=("rejections/",),
        bucket_delete=("rejections/",),
        put_events=True,
    ),
    # urgent bulletins: EventBridge rule -> push queue -> here: a once-only mark (conditional put,
    # deleted again if publishing fails), then CreateTopic (idempotent) and Publish on the scope's topic
    "urgent_push": Access(
        write_tables=("stream_marks",),
        queues=("urgent_push_queue",),
        bulletin_topics=True,
    ),
    # participation (issue 6): scoring reads the activity stream into month tallies (and seeds the
    # rules when none are stored); the monthly schedule queues one job per department; a job reads
    # orgs, members, tallies and the branches' transfer links (moves after the month ended), writes
    # filing rows and archives, and may queue its continuation
    "participation_scoring": Access(tables=("participation", "scoring_rules"), streams=("activity",)),
    "participation_filing_schedule": Access(
        tables=("participation_filings",),
        read_tables=("orgs",),
        send_queues=("participation_filing_queue",),
    ),
    "participation_filing_jobs": Access(
        tables=("participation_filings",),
        read_tables=("orgs", "members", "participation", "transfer_links"),
        queues=("participation_filing_queue",),
        send_queues=("participation_filing_queue",),
        bucket_write=("filings/",),
    ),
}
