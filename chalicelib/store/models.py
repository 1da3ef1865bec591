"""PynamoDB models: one class per table, names and endpoint taken from settings.

Models are bound to the current settings by `bind_models()`, which `chalicelib.store` calls
lazily, so moto (or the local endpoint) is in place before any connection is made.
"""

from __future__ import annotations

from pynamodb.attributes import (
    ListAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
    VersionAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
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


class Member(_Base):
    """A member: identity, branches, roles (as `role@org_id` strings) and activation state."""

    class Meta:
        logical_name = "members"

    registration_number = UnicodeAttribute(hash_key=True)
    name = UnicodeAttribute()
    phone = UnicodeAttribute(null=True)
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
    """Failure counters with a window (login and activation attempts); expire by TTL."""

    class Meta:
        logical_name = "throttle"

    key = UnicodeAttribute(hash_key=True)
    failures = NumberAttribute(default=0)
    window_start = NumberAttribute(default=0)
    locked_until = NumberAttribute(default=0)
    expires_at = NumberAttribute()


class StreamMark(_Base):
    """Marks a stream record as applied, so a redelivered record changes nothing."""

    class Meta:
        logical_name = "stream_marks"

    mark_id = UnicodeAttribute(hash_key=True)
    expires_at = NumberAttribute()


# tables with a stream that a consumer reads
STREAMED = {"members", "orgs", "activity"}
# tables whose items expire: logical name -> TTL attribute
TTL = {
    "activity": "expires_at",
    "throttle": "expires_at",
    "stream_marks": "expires_at",
    "idempotency": "expiration",
}

ALL_MODELS: list[type[Model]] = [Member, Org, RoleGrant, Sequence, Activity, Throttle, StreamMark]

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
