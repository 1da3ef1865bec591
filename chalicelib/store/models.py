"""PynamoDB models: one class per table, names and endpoint taken from settings.

Models are bound to the current settings by `bind_models()`, which `chalicelib.store` calls
lazily, so moto (or the local endpoint) is in place before any connection is made.
"""

from __future__ import annotations

from pynamodb.attributes import (
    BinaryAttribute,
    BooleanAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
    VersionAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, IncludeProjection, KeysOnlyProjection
from pynamodb.models import Model

from chalicelib.config import get_settings

# logical name -> does the table need a stream for a consumer
STREAM = {"stream_specification": {"stream_enabled": True, "stream_view_type": "NEW_AND_OLD_IMAGES"}}


_shared_connection = None


def _connection():
    """One botocore client for every table: each extra client costs ~50 ms on a cold start."""
    global _shared_connection
    if _shared_connection is None:
        from pynamodb.connection import Connection

        settings = get_settings()
        _shared_connection = Connection(region=settings.region, host=settings.aws_endpoint)
    return _shared_connection


class _Base(Model):
    class Meta:
        abstract = True
        logical_name = ""

    @classmethod
    def _get_connection(cls):  # type: ignore[override]
        table_connection = super()._get_connection()
        shared = _connection()
        if table_connection.connection is not shared:
            shared.add_meta_table(table_connection.connection.get_meta_table(cls.Meta.table_name))
            table_connection.connection = shared
        return table_connection


class MembersByHomeBranch(GlobalSecondaryIndex):
    """The members whose home branch is one branch: ledgers, unpaid lists, monthly filings."""

    class Meta:
        index_name = "by_home_branch"
        projection = AllProjection()

    home_branch_id = UnicodeAttribute(hash_key=True)
    registration_number = UnicodeAttribute(range_key=True)


class Member(_Base):
    """A member: identity, branches, roles (as `role@org_id` strings) and activation state."""

    class Meta:
        logical_name = "members"

    registration_number = UnicodeAttribute(hash_key=True)
    name = UnicodeAttribute()
    phone = UnicodeAttribute(null=True)
    dues_category = UnicodeAttribute(null=True)  # set by the branch (domain/dues.py); none: employed
    region_code = UnicodeAttribute()
    join_date = UnicodeAttribute()
    home_branch_id = UnicodeAttribute()
    home_path = ListAttribute(of=UnicodeAttribute, default=list)
    attached_branch_id = UnicodeAttribute(null=True)
    attached_path = ListAttribute(of=UnicodeAttribute, null=True)
    virtual_branch_ids = UnicodeSetAttribute(null=True)
    roles = UnicodeSetAttribute(null=True)
    status = UnicodeAttribute(default="registered")  # registered -> active
    activation_code_hash = UnicodeAttribute(null=True)
    activation_expires_at = NumberAttribute(null=True)
    created_at = UnicodeAttribute()
    activated_at = UnicodeAttribute(null=True)
    version = VersionAttribute()
    by_home_branch = MembersByHomeBranch()


class OrgsByParent(GlobalSecondaryIndex):
    class Meta:
        index_name = "by_parent"
        projection = AllProjection()

    parent_id = UnicodeAttribute(hash_key=True)
    sort_name = UnicodeAttribute(range_key=True)


class OrgsByDivision(GlobalSecondaryIndex):
    class Meta:
        index_name = "by_division"
        projection = AllProjection()

    division_code = UnicodeAttribute(hash_key=True)
    org_id = UnicodeAttribute(range_key=True)


class Org(_Base):
    """A node of the org tree; `path` holds every ancestor id from `central` down to itself."""

    class Meta:
        logical_name = "orgs"

    org_id = UnicodeAttribute(hash_key=True)
    name = UnicodeAttribute()
    level = UnicodeAttribute()
    parent_id = UnicodeAttribute(null=True)
    division_code = UnicodeAttribute(null=True)
    path = ListAttribute(of=UnicodeAttribute, default=list)
    sort_name = UnicodeAttribute()
    member_count = NumberAttribute(default=0)
    created_at = UnicodeAttribute()
    created_by = UnicodeAttribute(null=True)
    version = VersionAttribute()
    by_parent = OrgsByParent()
    by_division = OrgsByDivision()


class RoleGrant(_Base):
    """Who holds which role on an org: lets an org list its staff, secretaries and editors."""

    class Meta:
        logical_name = "role_grants"

    org_id = UnicodeAttribute(hash_key=True)
    grant = UnicodeAttribute(range_key=True)  # "{role}#{registration_number}"
    granted_by = UnicodeAttribute(null=True)
    granted_at = UnicodeAttribute()


class Sequence(_Base):
    """The last sequence number handed out for one (region code, join date)."""

    class Meta:
        logical_name = "sequences"

    key = UnicodeAttribute(hash_key=True)  # "{region_code}#{YYYYMMDD}"
    last = NumberAttribute(default=0)


class Activity(_Base):
    """A counted action of a member (login, article_open, ...); the scoring consumer reads the stream."""

    class Meta:
        logical_name = "activity"

    registration_number = UnicodeAttribute(hash_key=True)
    activity_id = UnicodeAttribute(range_key=True)  # "{at ISO}#{event_id}"
    type = UnicodeAttribute()
    target = UnicodeAttribute(null=True)
    at = UnicodeAttribute()
    expires_at = NumberAttribute()  # TTL, epoch seconds


class Throttle(_Base):
    """Failure counters with a window (login and activation attempts) and rate windows (client
    activity uploads); expire by TTL."""

    class Meta:
        logical_name = "throttle"

    key = UnicodeAttribute(hash_key=True)
    failures = NumberAttribute(default=0)
    window_start = NumberAttribute(default=0)
    locked_until = NumberAttribute(default=0)
    used = NumberAttribute(null=True)  # rate windows: what was taken of the window's allowance
    expires_at = NumberAttribute()


class StreamMark(_Base):
    """Marks a stream record as applied, so a redelivered record changes nothing."""

    class Meta:
        logical_name = "stream_marks"

    mark_id = UnicodeAttribute(hash_key=True)
    expires_at = NumberAttribute()


# ---- virtual branches (issue 4) ------------------------------------------------------------------


class Text(_Base):
    """A published version of a text founders accept; the item (`current`, 0) holds those in force."""

    class Meta:
        logical_name = "texts"

    kind = UnicodeAttribute(hash_key=True)  # "rules", "covenant", or "current"
    version = NumberAttribute(range_key=True)
    zh = UnicodeAttribute(null=True)
    en = UnicodeAttribute(null=True)
    digest = UnicodeAttribute(null=True)
    published_at = UnicodeAttribute()
    # only on the `current` item: the versions in force and their texts, served with one GetItem
    rules_version = NumberAttribute(null=True)
    rules_text = UnicodeAttribute(null=True)
    rules_digest = UnicodeAttribute(null=True)
    rules_published_at = UnicodeAttribute(null=True)
    covenant_version = NumberAttribute(null=True)
    covenant_text = UnicodeAttribute(null=True)
    covenant_digest = UnicodeAttribute(null=True)
    covenant_published_at = UnicodeAttribute(null=True)


class BranchRegistry(GlobalSecondaryIndex):
    """Every virtual branch, newest first (keys only: counts change often and are read from the table)."""

    class Meta:
        index_name = "registry"
        projection = KeysOnlyProjection()

    registry = UnicodeAttribute(hash_key=True)
    created_key = UnicodeAttribute(range_key=True)


class BranchesByProvince(GlobalSecondaryIndex):
    class Meta:
        index_name = "by_province"
        projection = KeysOnlyProjection()

    sup_province = UnicodeAttribute(hash_key=True)
    created_key = UnicodeAttribute(range_key=True)


class BranchesByCity(GlobalSecondaryIndex):
    class Meta:
        index_name = "by_city"
        projection = KeysOnlyProjection()

    sup_city = UnicodeAttribute(hash_key=True)
    created_key = UnicodeAttribute(range_key=True)


class BranchesByCounty(GlobalSecondaryIndex):
    class Meta:
        index_name = "by_county"
        projection = KeysOnlyProjection()

    sup_county = UnicodeAttribute(hash_key=True)
    created_key = UnicodeAttribute(range_key=True)


class BranchesDissolving(GlobalSecondaryIndex):
    """Sparse: dissolved branches whose members are still being taken out, oldest dissolution first.

    `dissolving` is set when a branch is dissolved and removed when its clean-up is done, so the
    hourly sweep (consumers/branch_dissolution) finds the unfinished ones with one Query.
    """

    class Meta:
        index_name = "dissolving"
        projection = KeysOnlyProjection()

    dissolving = UnicodeAttribute(hash_key=True)  # always "pending" while present
    dissolved_at = UnicodeAttribute(range_key=True)


class VirtualBranch(_Base):
    """A virtual branch's own record beside its org item: status, secretary, deputies, supervision.

    `sup_province`/`sup_city`/`sup_county` are the supervising department's ancestors of each level,
    so the registry of any department's subtree is one Query; `dissolving` puts a dissolved branch in
    the sparse `dissolving` index until its memberships are all removed.
    """

    class Meta:
        logical_name = "virtual_branches"

    org_id = UnicodeAttribute(hash_key=True)
    name = UnicodeAttribute()
    description = UnicodeAttribute(default="")
    status = UnicodeAttribute()
    secretary = UnicodeAttribute()
    secretary_name = UnicodeAttribute()  # masked
    deputies = UnicodeSetAttribute(null=True)
    member_count = NumberAttribute(default=0)
    supervising_org_id = UnicodeAttribute()
    supervising_org_name = UnicodeAttribute()
    supervising_division_code = UnicodeAttribute(null=True)
    supervising_path = ListAttribute(of=UnicodeAttribute, default=list)
    registry = UnicodeAttribute(default="all")
    created_key = UnicodeAttribute()
    sup_province = UnicodeAttribute(null=True)
    sup_city = UnicodeAttribute(null=True)
    sup_county = UnicodeAttribute(null=True)
    created_at = UnicodeAttribute()
    founder = UnicodeAttribute()
    accepted_rules_version = NumberAttribute()
    accepted_covenant_version = NumberAttribute()
    accepted_rules_digest = UnicodeAttribute(null=True)
    accepted_covenant_digest = UnicodeAttribute(null=True)
    accepted_at = UnicodeAttribute()
    founded_from_ip = UnicodeAttribute(null=True)
    located_by = UnicodeAttribute()
    located_region = UnicodeAttribute(null=True)
    dissolved_at = UnicodeAttribute(null=True)
    dissolve_step = NumberAttribute(default=0)
    members_removed_at = UnicodeAttribute(null=True)
    dissolving = UnicodeAttribute(null=True)  # "pending" from dissolution until members_removed_at
    # no VersionAttribute: every write states the condition it needs (status, secretary, deputies),
    # so that 50 approvals at once each add their member instead of failing on a version
    registry_index = BranchRegistry()
    by_province = BranchesByProvince()
    by_city = BranchesByCity()
    by_county = BranchesByCounty()
    dissolving_index = BranchesDissolving()


class BranchMembership(_Base):
    """One member of one virtual branch; a member's own list is `Member.virtual_branch_ids`."""

    class Meta:
        logical_name = "vb_memberships"

    org_id = UnicodeAttribute(hash_key=True)
    registration_number = UnicodeAttribute(range_key=True)
    name = UnicodeAttribute()
    joined_at = UnicodeAttribute()
    role = UnicodeAttribute(default="member")  # member, deputy, secretary


class JoinRequestsByQueue(GlobalSecondaryIndex):
    """A branch's requests of one status, oldest first: `queue` is "{org_id}#{status}"."""

    class Meta:
        index_name = "by_queue"
        projection = AllProjection()

    queue = UnicodeAttribute(hash_key=True)
    queued_key = UnicodeAttribute(range_key=True)  # "{requested_at}#{registration_number}"


class JoinRequest(_Base):
    """A member's (latest) request to join a virtual branch."""

    class Meta:
        logical_name = "vb_join_requests"

    org_id = UnicodeAttribute(hash_key=True)
    registration_number = UnicodeAttribute(range_key=True)
    name = UnicodeAttribute()
    branch_name = UnicodeAttribute()
    status = UnicodeAttribute()
    queue = UnicodeAttribute()
    queued_key = UnicodeAttribute()
    requested_at = UnicodeAttribute()
    message = UnicodeAttribute(null=True)
    decided_at = UnicodeAttribute(null=True)
    decided_by = UnicodeAttribute(null=True)
    decided_as = UnicodeAttribute(null=True)  # secretary, deputy, applicant, system
    by_queue = JoinRequestsByQueue()


class BranchLogEntry(_Base):
    """One public management action on a virtual branch (no personal data: names masked)."""

    class Meta:
        logical_name = "vb_log"

    org_id = UnicodeAttribute(hash_key=True)
    entry = UnicodeAttribute(range_key=True)  # "{at}#{random}", so entries sort by time
    action = UnicodeAttribute()
    at = UnicodeAttribute()
    by = UnicodeAttribute()  # secretary, supervising department, system
    by_org_id = UnicodeAttribute(null=True)
    reason = UnicodeAttribute(null=True)
    details = UnicodeAttribute(null=True)  # JSON object


# ---- dues, appeals and reports (issue 7) ----------------------------------------------------------


class DuesPayment(_Base):
    """A member's dues for one period: at most one per (member, period), by a conditional put."""

    class Meta:
        logical_name = "dues_payments"

    registration_number = UnicodeAttribute(hash_key=True)
    period = UnicodeAttribute(range_key=True)  # "YYYY-MM"
    payment_id = UnicodeAttribute()
    amount_fen = NumberAttribute()
    due_fen = NumberAttribute()
    category = UnicodeAttribute()
    monthly_income_fen = NumberAttribute(null=True)
    rate_permille = NumberAttribute(null=True)
    home_branch_id = UnicodeAttribute()  # credited to
    paid_at_branch_id = UnicodeAttribute()  # collected by (the attached branch when attached)
    transfer_id = UnicodeAttribute(null=True)  # the transfer payment to the home branch, if any
    provider = UnicodeAttribute(null=True)
    provider_reference = UnicodeAttribute(null=True)
    paid_at = UnicodeAttribute()


class DuesLedgerEntry(_Base):
    """A branch's dues ledger for one period: entries (`e#...`) and sharded totals (`t#<shard>`)."""

    class Meta:
        logical_name = "dues_ledger"

    ledger_id = UnicodeAttribute(hash_key=True)  # "{org_id}#{period}"
    entry_id = UnicodeAttribute(range_key=True)
    kind = UnicodeAttribute(null=True)  # payment, transfer_out, transfer_in
    amount_fen = NumberAttribute(null=True)  # signed
    registration_number = UnicodeAttribute(null=True)
    name = UnicodeAttribute(null=True)
    payment_id = UnicodeAttribute(null=True)
    transfer_id = UnicodeAttribute(null=True)
    counterpart_org_id = UnicodeAttribute(null=True)
    at = UnicodeAttribute(null=True)
    # on the totals shards only, all added to atomically
    collected_fen = NumberAttribute(null=True)
    transferred_out_fen = NumberAttribute(null=True)
    transferred_in_fen = NumberAttribute(null=True)
    payments = NumberAttribute(null=True)
    credited_members = NumberAttribute(null=True)


class DuesReference(_Base):
    """A payment provider's reference, claimed once: one provider payment never pays two periods."""

    class Meta:
        logical_name = "dues_references"

    reference = UnicodeAttribute(hash_key=True)  # "{provider}#{provider_reference}"
    registration_number = UnicodeAttribute()
    period = UnicodeAttribute()
    payment_id = UnicodeAttribute()


# what lists show of a case: never the body, never the encrypted reporter or its lookup MAC
_CASE_LIST_FIELDS = [
    "kind",
    "subject",
    "status",
    "anonymous",
    "handling_org_id",
    "handling_path",
    "about_org_id",
    "created_at",
    "updated_at",
    "last_touched_at",
    "response_count",
]


class CasesByHandler(GlobalSecondaryIndex):
    """A department's queue: open cases longest untouched first, then closed ones newest first."""

    class Meta:
        index_name = "by_handler"
        projection = IncludeProjection([*_CASE_LIST_FIELDS, "member_number", "member_name"])

    handling_org_id = UnicodeAttribute(hash_key=True)
    queue_key = UnicodeAttribute(range_key=True)


class CasesByHandlerStatus(GlobalSecondaryIndex):
    """A department's cases in one status."""

    class Meta:
        index_name = "by_handler_status"
        projection = IncludeProjection([*_CASE_LIST_FIELDS, "member_number", "member_name"])

    status_key = UnicodeAttribute(hash_key=True)  # "{handling_org_id}#{status}"
    queue_key = UnicodeAttribute(range_key=True)


class CasesByMember(GlobalSecondaryIndex):
    """A member's appeals and named reports, newest first."""

    class Meta:
        index_name = "by_member"
        projection = IncludeProjection(_CASE_LIST_FIELDS)

    member_number = UnicodeAttribute(hash_key=True)
    mine_key = UnicodeAttribute(range_key=True)


class CasesByReporter(GlobalSecondaryIndex):
    """A member's anonymous reports, found by a keyed MAC of their number (never the number)."""

    class Meta:
        index_name = "by_reporter"
        projection = IncludeProjection(_CASE_LIST_FIELDS)

    reporter_mac = UnicodeAttribute(hash_key=True)
    mine_key = UnicodeAttribute(range_key=True)


class Case(_Base):
    """An appeal or report. Anonymous reports hold the reporter only as KMS ciphertext and a MAC."""

    class Meta:
        logical_name = "cases"

    case_id = UnicodeAttribute(hash_key=True)
    kind = UnicodeAttribute()  # appeal, report
    subject = UnicodeAttribute()
    body = UnicodeAttribute()
    status = UnicodeAttribute()
    anonymous = BooleanAttribute(default=False)
    handling_org_id = UnicodeAttribute()
    handling_path = ListAttribute(of=UnicodeAttribute, default=list)
    about_org_id = UnicodeAttribute(null=True)
    member_number = UnicodeAttribute(null=True)  # appeals and named reports only
    member_name = UnicodeAttribute(null=True)
    reporter_ciphertext = BinaryAttribute(null=True, legacy_encoding=False)  # anonymous only
    reporter_mac = UnicodeAttribute(null=True)  # anonymous only
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    last_touched_at = UnicodeAttribute()
    queue_key = UnicodeAttribute()
    status_key = UnicodeAttribute()
    mine_key = UnicodeAttribute()  # "{created_at}#{case_id}"
    response_count = NumberAttribute(default=0)
    version = VersionAttribute()
    by_handler = CasesByHandler()
    by_handler_status = CasesByHandlerStatus()
    by_member = CasesByMember()
    by_reporter = CasesByReporter()


class CaseResponse(_Base):
    """A handling department's answer to a case; every one is kept."""

    class Meta:
        logical_name = "case_responses"

    case_id = UnicodeAttribute(hash_key=True)
    response_id = UnicodeAttribute(range_key=True)  # "{sequence:05d}#{at}": in the order given
    org_id = UnicodeAttribute()
    responder = UnicodeAttribute()
    status = UnicodeAttribute()
    body = UnicodeAttribute()
    at = UnicodeAttribute()


# ---- transfers, their filing and statistics (issue 3) ----------------------------------------------


class TransfersByMember(GlobalSecondaryIndex):
    """A member's transfers; ids sort by creation time."""

    class Meta:
        index_name = "by_member"
        projection = AllProjection()

    registration_number = UnicodeAttribute(hash_key=True)
    transfer_id = UnicodeAttribute(range_key=True)


class PendingTransfersByDay(GlobalSecondaryIndex):
    """Sparse: formal transfers still pending, by the UTC day they were asked for (the expiry sweep)."""

    class Meta:
        index_name = "pending_by_day"
        projection = KeysOnlyProjection()

    pending_day = UnicodeAttribute(hash_key=True)
    transfer_id = UnicodeAttribute(range_key=True)


class TransferStep(MapAttribute):
    action = UnicodeAttribute()
    status = UnicodeAttribute()
    by = UnicodeAttribute(null=True)
    at = UnicodeAttribute()
    reason = UnicodeAttribute(null=True)


class Transfer(_Base):
    """A transfer of a member's relationship to a branch; its stream feeds filing and statistics."""

    class Meta:
        logical_name = "transfers"

    transfer_id = UnicodeAttribute(hash_key=True)  # "tr-" + creation ms (hex) + random: sorts by time
    registration_number = UnicodeAttribute()
    member_name = UnicodeAttribute()
    kind = UnicodeAttribute()  # temporary | formal
    status = UnicodeAttribute()
    from_org_id = UnicodeAttribute()
    from_path = ListAttribute(of=UnicodeAttribute, default=list)
    to_org_id = UnicodeAttribute()
    to_path = ListAttribute(of=UnicodeAttribute, default=list)
    reason = UnicodeAttribute(null=True)
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    effective_at = UnicodeAttribute(null=True)
    ended_at = UnicodeAttribute(null=True)
    decided_by = UnicodeAttribute(null=True)
    history = ListAttribute(of=TransferStep, default=list)
    pending_day = UnicodeAttribute(null=True)
    version = VersionAttribute()
    by_member = TransfersByMember()
    pending_by_day = PendingTransfersByDay()


class TransferLinksByStatus(GlobalSecondaryIndex):
    class Meta:
        index_name = "by_status"
        projection = AllProjection()

    org_status = UnicodeAttribute(hash_key=True)  # "{org_id}#{status}"
    transfer_id = UnicodeAttribute(range_key=True)


class TransferLinksAwaiting(GlobalSecondaryIndex):
    """Sparse: pending transfers into an org's subtree, for its secretaries' and staff's inbox."""

    class Meta:
        index_name = "awaiting"
        projection = AllProjection()

    awaiting = UnicodeAttribute(hash_key=True)
    transfer_id = UnicodeAttribute(range_key=True)


class TransferLink(_Base):
    """A transfer as listed by an org whose subtree it enters or leaves (a summary, kept in step)."""

    class Meta:
        logical_name = "transfer_links"

    org_id = UnicodeAttribute(hash_key=True)
    transfer_id = UnicodeAttribute(range_key=True)
    direction = UnicodeAttribute()  # in | out
    org_status = UnicodeAttribute()
    awaiting = UnicodeAttribute(null=True)
    registration_number = UnicodeAttribute()
    member_name = UnicodeAttribute()
    kind = UnicodeAttribute()
    status = UnicodeAttribute()
    from_org_id = UnicodeAttribute()
    to_org_id = UnicodeAttribute()
    reason = UnicodeAttribute(null=True)
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    effective_at = UnicodeAttribute(null=True)
    ended_at = UnicodeAttribute(null=True)
    decided_by = UnicodeAttribute(null=True)
    by_status = TransferLinksByStatus()
    awaiting_index = TransferLinksAwaiting()


class MemberTransfers(_Base):
    """Per member: the open formal transfer (one at a time) and the transfer behind the attachment."""

    class Meta:
        logical_name = "member_transfers"

    registration_number = UnicodeAttribute(hash_key=True)
    open_formal_id = UnicodeAttribute(null=True)
    open_formal_expires_at = UnicodeAttribute(null=True)
    attached_transfer_id = UnicodeAttribute(null=True)
    attached_at = UnicodeAttribute(null=True)  # when the attachment took effect
    attached_reason = UnicodeAttribute(null=True)


class TransferFiling(_Base):
    """The central filing: one item per effective transfer for each org on either side, by month."""

    class Meta:
        logical_name = "transfer_filings"

    scope = UnicodeAttribute(hash_key=True)  # "{org_id}#{YYYY-MM}"
    filing_key = UnicodeAttribute(range_key=True)  # "{effective_at}#{transfer_id}"
    org_id = UnicodeAttribute()
    side = UnicodeAttribute()  # in | out | within
    transfer_id = UnicodeAttribute()
    registration_number = UnicodeAttribute()
    member_name = UnicodeAttribute()
    kind = UnicodeAttribute()
    from_org_id = UnicodeAttribute()
    to_org_id = UnicodeAttribute()
    effective_at = UnicodeAttribute()
    decided_by = UnicodeAttribute(null=True)
    reason = UnicodeAttribute(null=True)
    filed_at = UnicodeAttribute()


class OrgStat(_Base):
    """Stream-fed counters of one org: a month's flows or the levels now (`g`), one shard each."""

    class Meta:
        logical_name = "org_stats"

    org_id = UnicodeAttribute(hash_key=True)
    stat_key = UnicodeAttribute(range_key=True)  # "{YYYY-MM}#{shard:02d}" or "g#{shard:02d}"
    registered = NumberAttribute(null=True)
    removed = NumberAttribute(null=True)
    inflow = NumberAttribute(null=True)
    outflow = NumberAttribute(null=True)
    attached = NumberAttribute(null=True)
    detached = NumberAttribute(null=True)
    virtual_branches_net = NumberAttribute(null=True)
    mobile_members = NumberAttribute(null=True)
    virtual_branches = NumberAttribute(null=True)


# ---- bulletins, feed and organisational life (issue 5) -------------------------------------------


class Edition(_Base):
    """A published bulletin edition: its current revision, the article list and where it came from."""

    class Meta:
        logical_name = "editions"

    edition_id = UnicodeAttribute(hash_key=True)
    scope = UnicodeAttribute()  # "central" or a division code
    org_id = UnicodeAttribute()
    kind = UnicodeAttribute()  # weekly | urgent
    title = UnicodeAttribute()
    week = UnicodeAttribute(null=True)
    revision = NumberAttribute()
    first_published_at = UnicodeAttribute()
    published_at = UnicodeAttribute()  # of this revision
    urgent_since = UnicodeAttribute(null=True)
    articles_json = UnicodeAttribute()  # [{"article_id", "section", "title"}] in the file's order
    sections = ListAttribute(of=UnicodeAttribute, default=list)
    source_key = UnicodeAttribute()
    source_etag = UnicodeAttribute()
    announced_revision = NumberAttribute(default=0)
    history_json = UnicodeAttribute(default="[]")  # the latest revisions: revision, published_at, etag
    # articles a correction dropped and not yet deleted (written with the revision, cleared after)
    pending_drops = ListAttribute(of=UnicodeAttribute, null=True)
    pins_json = UnicodeAttribute(null=True)  # [[since, until]]: when it was urgent (domain/content.py)


class FeedItem(_Base):
    """One entry of a department's feed: `N#{first published}#{edition}`, and `U#...` while urgent."""

    class Meta:
        logical_name = "feed"

    org_id = UnicodeAttribute(hash_key=True)
    sort = UnicodeAttribute(range_key=True)
    edition_id = UnicodeAttribute()
    scope = UnicodeAttribute()
    kind = UnicodeAttribute()
    title = UnicodeAttribute()
    week = UnicodeAttribute(null=True)
    published_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    revision = NumberAttribute()
    article_count = NumberAttribute()
    sections = ListAttribute(of=UnicodeAttribute, default=list)
    urgent_since = UnicodeAttribute(null=True)
    pins_json = UnicodeAttribute(null=True)  # the edition's urgent intervals, as on the edition
    expires_at = NumberAttribute(null=True)  # TTL of `U` entries, a day after they stop being shown


class Article(_Base):
    """The published text of one article (bodies zlib-compressed: items stay far under 400 KB)."""

    class Meta:
        logical_name = "articles"

    article_id = UnicodeAttribute(hash_key=True)
    edition_id = UnicodeAttribute()
    scope = UnicodeAttribute()
    org_path = ListAttribute(of=UnicodeAttribute, default=list)
    revision = NumberAttribute()
    position = NumberAttribute()
    section = UnicodeAttribute()
    title = UnicodeAttribute()
    edition_title = UnicodeAttribute()
    kind = UnicodeAttribute()
    links_json = UnicodeAttribute(default="[]")
    body_markdown = BinaryAttribute(legacy_encoding=False)
    body_html = BinaryAttribute(legacy_encoding=False)
    published_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()


class Post(_Base):
    """A reflection (`article#id`), a study-group post (`group#id`) or a discussion reply
    (`discussion#id`)."""

    class Meta:
        logical_name = "posts"

    parent = UnicodeAttribute(hash_key=True)
    post_id = UnicodeAttribute(range_key=True)  # time-ordered id: newest first is a descending Query
    author = UnicodeAttribute()
    author_name = UnicodeAttribute()  # masked
    body = UnicodeAttribute()
    created_at = UnicodeAttribute()
    status = UnicodeAttribute(default="visible")  # visible | hidden
    hidden_reason = UnicodeAttribute(null=True)
    hidden_by = UnicodeAttribute(null=True)
    hidden_at = UnicodeAttribute(null=True)
    org_path = ListAttribute(of=UnicodeAttribute, default=list)  # whose staff may hide it


class GroupsByOrg(GlobalSecondaryIndex):
    class Meta:
        index_name = "by_org"
        projection = AllProjection()

    org_id = UnicodeAttribute(hash_key=True)
    group_id = UnicodeAttribute(range_key=True)


class StudyGroup(_Base):
    """A member-run study group, listed under the department above its founder's branch."""

    class Meta:
        logical_name = "study_groups"

    group_id = UnicodeAttribute(hash_key=True)
    name = UnicodeAttribute()
    topic = UnicodeAttribute()
    founder = UnicodeAttribute()
    founder_name = UnicodeAttribute()  # masked
    org_id = UnicodeAttribute()
    org_path = ListAttribute(of=UnicodeAttribute, default=list)  # the founder's branch and above
    member_count = NumberAttribute(default=0)
    created_at = UnicodeAttribute()
    by_org = GroupsByOrg()


class GroupsByMember(GlobalSecondaryIndex):
    class Meta:
        index_name = "by_member"
        projection = AllProjection()

    registration_number = UnicodeAttribute(hash_key=True)
    group_id = UnicodeAttribute(range_key=True)


class GroupMember(_Base):
    """One member of one study group."""

    class Meta:
        logical_name = "group_members"

    group_id = UnicodeAttribute(hash_key=True)
    registration_number = UnicodeAttribute(range_key=True)
    joined_at = UnicodeAttribute()
    group_name = UnicodeAttribute()
    by_member = GroupsByMember()


class DiscussionsByOrg(GlobalSecondaryIndex):
    class Meta:
        index_name = "by_org"
        projection = AllProjection()

    org_id = UnicodeAttribute(hash_key=True)
    discussion_id = UnicodeAttribute(range_key=True)


class Discussion(_Base):
    """An open discussion thread in a department's area (`central`: everyone's)."""

    class Meta:
        logical_name = "discussions"

    discussion_id = UnicodeAttribute(hash_key=True)
    org_id = UnicodeAttribute()
    org_path = ListAttribute(of=UnicodeAttribute, default=list)
    title = UnicodeAttribute()
    body = UnicodeAttribute()
    author = UnicodeAttribute()
    author_name = UnicodeAttribute()  # masked
    created_at = UnicodeAttribute()
    reply_count = NumberAttribute(default=0)
    status = UnicodeAttribute(default="visible")
    hidden_reason = UnicodeAttribute(null=True)
    hidden_by = UnicodeAttribute(null=True)
    hidden_at = UnicodeAttribute(null=True)
    by_org = DiscussionsByOrg()


# ---- participation scoring and the monthly filing (issue 6) ---------------------------------------


class ScoringRules(_Base):
    """One version of the scoring rules; the version in force on a day is the latest effective by then."""

    class Meta:
        logical_name = "scoring_rules"

    name = UnicodeAttribute(hash_key=True)  # "participation"
    version = NumberAttribute(range_key=True)
    effective_from = UnicodeAttribute()  # YYYY-MM-DD, an Asia/Shanghai day
    rules = UnicodeAttribute()  # JSON: {"type": {"points", "daily_cap", "once_per_target"?}}
    published_at = UnicodeAttribute()
    published_by = UnicodeAttribute(null=True)


class ParticipationMonth(_Base):
    """A member's scores for one month: totals, every day's tally, recently applied activity digests."""

    class Meta:
        logical_name = "participation"

    registration_number = UnicodeAttribute(hash_key=True)
    month = UnicodeAttribute(range_key=True)  # YYYY-MM, Asia/Shanghai
    points = NumberAttribute(default=0)
    active_days = NumberAttribute(default=0)
    counts = UnicodeAttribute(default="{}")  # JSON {type: n}
    days = UnicodeAttribute(default="{}")  # JSON {"YYYY-MM-DD": {"p", "c", "s"?, "t"?, "v"?}}
    recent = UnicodeAttribute(default="{}")  # JSON {activity digest: epoch applied}
    updated_at = UnicodeAttribute()
    expires_at = NumberAttribute()  # TTL, epoch seconds
    version = VersionAttribute()


class ParticipationFiling(_Base):
    """The monthly filing. Partition `{month}#{org_id}` holds a department's `summary`, one `o#{child}`
    row per child org and one `m#{branch}#{number}` row per member of its own branches; partition
    `{month}#progress` one item per department of a run, and `{month}#run` the run itself."""

    class Meta:
        logical_name = "participation_filings"

    filing_id = UnicodeAttribute(hash_key=True)
    entry = UnicodeAttribute(range_key=True)
    run = UnicodeAttribute(null=True)
    # summary and org rows
    org_id = UnicodeAttribute(null=True)
    name = UnicodeAttribute(null=True)
    level = UnicodeAttribute(null=True)
    parent_id = UnicodeAttribute(null=True)
    division_code = UnicodeAttribute(null=True)
    figures = UnicodeAttribute(null=True)  # JSON summary state {"m", "a", "p", "b"}
    children = NumberAttribute(null=True)
    digests = UnicodeAttribute(null=True)  # JSON {archive key: sha256}, to skip identical re-uploads
    # member rows
    registration_number = UnicodeAttribute(null=True)
    branch_id = UnicodeAttribute(null=True)
    points = NumberAttribute(null=True)
    active_days = NumberAttribute(null=True)
    counts = UnicodeAttribute(null=True)  # JSON {type: n}
    # progress of a department in a run
    root = UnicodeAttribute(null=True)
    expected = NumberAttribute(null=True)
    done = UnicodeSetAttribute(null=True)
    finalized_run = UnicodeAttribute(null=True)
    # the run
    status = UnicodeAttribute(null=True)  # running, complete
    total = NumberAttribute(null=True)
    finished = NumberAttribute(null=True)
    requested_by = UnicodeAttribute(null=True)
    started_at = UnicodeAttribute(null=True)
    finished_at = UnicodeAttribute(null=True)


# tables with a stream that a consumer reads
STREAMED = {"members", "orgs", "activity", "virtual_branches"}
STREAMED |= {"transfers"}
# tables whose items expire: logical name -> TTL attribute
TTL = {
    "activity": "expires_at",
    "throttle": "expires_at",
    "stream_marks": "expires_at",
    "idempotency": "expiration",
}
TTL["feed"] = "expires_at"

ALL_MODELS: list[type[Model]] = [Member, Org, RoleGrant, Sequence, Activity, Throttle, StreamMark]
ALL_MODELS += [Text, VirtualBranch, BranchMembership, JoinRequest, BranchLogEntry]
ALL_MODELS += [DuesPayment, DuesLedgerEntry, DuesReference, Case, CaseResponse]
ALL_MODELS += [Transfer, TransferLink, MemberTransfers, TransferFiling, OrgStat]
ALL_MODELS += [Edition, FeedItem, Article, Post, StudyGroup, GroupMember, Discussion]

TTL["participation"] = "expires_at"
ALL_MODELS += [ScoringRules, ParticipationMonth, ParticipationFiling]

# the powertools idempotency table is not a PynamoDB model: logical name and key attribute
IDEMPOTENCY_TABLE = "idempotency"


def bind_models() -> None:
    """Point every model at the table names and endpoint of the current settings."""
    global _shared_connection
    _shared_connection = None
    settings = get_settings()
    for model in ALL_MODELS:
        meta = model.Meta
        meta.table_name = settings.table(meta.logical_name)
        meta.region = settings.region
        meta.host = settings.aws_endpoint
        meta.billing_mode = "PAY_PER_REQUEST"
        if meta.logical_name in STREAMED:
            meta.stream_view_type = "NEW_AND_OLD_IMAGES"
        model._connection = None  # forget a connection bound to an older endpoint


bind_models()
