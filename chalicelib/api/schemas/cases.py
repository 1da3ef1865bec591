"""Request and response models of appeals, reports and the cases API."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, StrictBool

from chalicelib.api.schemas import ORG_ID, Model, PageQuery, Strict


class CreateAppeal(Strict):
    subject: str = Field(min_length=1, max_length=200)
    body: str = Field(min_length=1, max_length=10000)


class AppealCreated(Model):
    case_id: str
    status: str
    handling_org_id: str
    kind: str


class CreateReport(Strict):
    subject: str = Field(min_length=1, max_length=200)
    body: str = Field(min_length=1, max_length=10000)
    about_org_id: str | None = Field(None, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    anonymous: StrictBool = False


class ReportCreated(Model):
    case_id: str
    status: str
    handling_org_id: str
    kind: str
    anonymous: bool


class DepartmentCaseQuery(PageQuery):
    org_id: str = ORG_ID
    status: Literal["submitted", "accepted", "resolved", "rejected", "open"] | None = None


class CreateCaseResponse(Strict):
    body: str = Field(min_length=1, max_length=10000)
    status: Literal["accepted", "resolved", "rejected"]


class CaseSubmitter(Model):
    registration_number: str
    name: str


class CaseResponseView(Model):
    org_id: str
    status: str
    body: str
    at: str
    responder: str | None = Field(None, description="shown to staff only")


class CaseView(Model):
    case_id: str
    kind: Literal["appeal", "report"]
    subject: str
    body: str | None = None
    status: Literal["submitted", "accepted", "resolved", "rejected"]
    anonymous: bool
    handling_org_id: str
    about_org_id: str | None
    created_at: str
    updated_at: str
    last_touched_at: str
    overdue: bool
    response_count: int
    submitted_by: CaseSubmitter | None = Field(
        None, description="staff views only; always null for anonymous reports"
    )
    responses: list[CaseResponseView] | None = None


class CasePage(Model):
    items: list[CaseView]
    next_cursor: str | None
