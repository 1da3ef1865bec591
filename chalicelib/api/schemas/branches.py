"""Request and response models of the virtual-branches API."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, PlainValidator, WithJsonSchema

from chalicelib.api.schemas import NUMBER, ORG_ID, Model, PageQuery, Strict


# The version a client read from GET /v1/virtual-branches/rules (a number; its text is taken too). Anything
# else, an older number, 0 or a name the platform never used, is not malformed but outdated: the domain
# answers 409 naming the versions in force, as API.md asks.
def _accepted_version(value: object) -> int | str:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and 1 <= len(value.strip()) <= 32:
        return value.strip()
    raise ValueError("a version, as GET /v1/virtual-branches/rules gives it (a number)")


AcceptedVersion = Annotated[
    int | str,
    PlainValidator(_accepted_version),
    WithJsonSchema(
        {
            "anyOf": [{"type": "integer"}, {"type": "string", "minLength": 1, "maxLength": 32}],
            "description": "the version accepted, as GET /v1/virtual-branches/rules gives it",
        }
    ),
]
REASON = Field(min_length=1, max_length=500)


class Rules(Model):
    rules_version: int
    rules_text: str
    rules_published_at: str
    covenant_version: int
    covenant_text: str
    covenant_published_at: str


class FoundBranch(Strict):
    name: str = Field(min_length=1, max_length=100)
    description: str = Field("", max_length=2000)
    accepted_rules_version: AcceptedVersion
    accepted_covenant_version: AcceptedVersion


class BranchView(Model):
    """The public record: no registration numbers, the secretary's name masked (张*, 欧阳**)."""

    org_id: str
    name: str
    description: str
    status: Literal["active", "suspended", "dissolved"]
    member_count: int
    supervising_org_id: str
    supervising_org_name: str
    supervising_division_code: str | None
    secretary_name: str
    deputy_count: int
    created_at: str
    dissolved_at: str | None


class BranchWithSecretary(BranchView):
    secretary: str


class BranchFounded(BranchWithSecretary):
    located_by: Literal["ip", "home_branch"]
    accepted_rules_version: int
    accepted_covenant_version: int
    accepted_at: str


class BranchPage(Model):
    items: list[BranchView]
    next_cursor: str | None


class RegistryQuery(PageQuery):
    supervising_org_id: str | None = Field(None, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")


class LogEntry(Model):
    action: str
    at: str
    by: str
    by_org_id: str | None
    reason: str | None
    details: dict


class LogPage(Model):
    items: list[LogEntry]
    next_cursor: str | None


class BranchDetail(BranchView):
    log: list[LogEntry]
    log_complete: bool


class FoundingRecord(Model):
    org_id: str
    founder: str
    accepted_rules_version: int
    accepted_covenant_version: int
    accepted_at: str
    source_ip: str | None
    located_by: str
    located_region: str | None


class JoinBody(Strict):
    """Optional body of a join request."""

    message: str | None = Field(None, max_length=500)


class JoinRequestView(Model):
    org_id: str
    registration_number: str
    name: str
    branch_name: str
    status: Literal["pending", "approved", "rejected", "withdrawn", "closed"]
    requested_at: str
    message: str | None
    decided_at: str | None
    decided_as: str | None
    overdue: bool


class JoinRequestPage(Model):
    items: list[JoinRequestView]
    next_cursor: str | None


class JoinRequestQuery(PageQuery):
    status: Literal["pending", "approved", "rejected", "withdrawn", "closed"] = "pending"


class Left(Model):
    org_id: str
    left: bool
    dissolved: bool


class Handover(Strict):
    to: str = Field(pattern=NUMBER)


class BranchMember(Model):
    name: str
    joined_at: str
    role: Literal["secretary", "deputy", "member"]
    registration_number: str | None = None


class MemberPage(Model):
    items: list[BranchMember]
    next_cursor: str | None


class NameDeputy(Strict):
    registration_number: str = Field(pattern=NUMBER)


class Deputy(Model):
    org_id: str
    registration_number: str
    role: str
    named_at: str | None = None


class Supervise(Strict):
    reason: str = REASON


class Reassign(Strict):
    supervising_org_id: str = ORG_ID
    reason: str = REASON
