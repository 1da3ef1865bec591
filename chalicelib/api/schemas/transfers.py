"""Request and response models of transfers, their central filing, org statistics and the inbox."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import ConfigDict, Field

from chalicelib.api.schemas import ORG_ID, Model, PageQuery, Query, Strict

TRANSFER_ID = r"^tr-[0-9a-f]{20}$"
ORG_ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
MONTH = r"^[0-9]{4}-(0[1-9]|1[0-2])$"

Kind = Literal["temporary", "formal"]
Status = Literal["pending", "effective", "rejected", "cancelled", "expired", "ended", "superseded"]


class CreateTransfer(Strict):
    to_org_id: Annotated[
        str,
        Field(
            description="a physical branch (level `branch`, e.g. from `GET /v1/orgs?division_code=`); "
            "a virtual branch or a department is a 400"
        ),
    ] = ORG_ID
    kind: Kind
    reason: str | None = Field(None, min_length=1, max_length=500)


class Decision(Strict):
    """Optional body of accept, reject and cancel."""

    reason: str | None = Field(None, min_length=1, max_length=500)


class HistoryStep(Model):
    action: str
    status: str
    by: str | None
    at: str
    reason: str | None


class TransferSummary(Model):
    transfer_id: str
    registration_number: str
    member_name: str
    kind: Kind
    status: Status
    from_org_id: str
    to_org_id: str
    reason: str | None
    created_at: str
    updated_at: str
    effective_at: str | None
    ended_at: str | None
    decided_by: str | None
    expires_at: str | None = Field(description="a pending formal transfer expires then")
    reject_until: str | None = Field(description="the receiving side may decline a temporary one until then")


class TransferView(TransferSummary):
    history: list[HistoryStep]


class TransferPage(Model):
    items: list[TransferSummary]
    next_cursor: str | None


class OrgTransfer(TransferSummary):
    direction: Literal["in", "out", "within"] = Field(
        description="entering or leaving the org's subtree, or moving between two branches inside it"
    )


class OrgTransferPage(Model):
    items: list[OrgTransfer]
    next_cursor: str | None


class OrgTransfersQuery(PageQuery):
    status: Status | None = None


class FilingQuery(PageQuery):
    org_id: str = ORG_ID
    month: str | None = Field(None, pattern=MONTH, description="YYYY-MM (China Standard Time); default now")


class Filing(Model):
    transfer_id: str
    org_id: str
    side: Literal["in", "out", "within"]
    registration_number: str
    member_name: str
    kind: Kind
    from_org_id: str
    to_org_id: str
    effective_at: str
    decided_by: str | None
    reason: str | None
    filed_at: str


class TransferFilingPage(Model):
    items: list[Filing]
    next_cursor: str | None


class StatsQuery(Query):
    month: str | None = Field(None, pattern=MONTH, description="YYYY-MM (China Standard Time); default now")


class OrgStats(Model):
    org_id: str
    month: str
    members: int = Field(description="members whose home branch is in the subtree, at the end of the month")
    mobile_members: int = Field(description="members attached to a branch of the subtree other than home")
    inflow: int = Field(description="formal transfers into the subtree that took effect in the month")
    outflow: int = Field(description="formal transfers out of the subtree that took effect in the month")
    registered: int
    attached: int = Field(description="temporary transfers into the subtree that took effect in the month")
    detached: int = Field(description="attachments in the subtree that ended in the month")
    virtual_branches: int
    active_members: int | None
    average_points: float | None
    as_of: str


class InboxItem(Model):
    model_config = ConfigDict(extra="allow", defer_build=True)

    kind: str
    id: str
    org_id: str
    created_at: str
    overdue: bool


class Inbox(Model):
    items: list[InboxItem]
    overdue_count: int
    truncated: bool
