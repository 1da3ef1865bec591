"""Request and response models of participation: a member's month, scoring rules, the monthly filing."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import Field, StrictBool, StrictInt, StringConstraints

from chalicelib.api.schemas import Model, PageQuery, Query, Strict

MONTH = r"^[0-9]{4}-(0[1-9]|1[0-2])$"
ActivityType = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z_]{0,31}$")]


class ParticipationQuery(Query):
    month: str | None = Field(None, pattern=MONTH, description="YYYY-MM (Asia/Shanghai); default this month")


class DayView(Model):
    date: str = Field(description="an Asia/Shanghai day, YYYY-MM-DD")
    points: int
    counts: dict[str, int]


class ParticipationView(Model):
    month: str
    points: int
    active_days: int
    counts: dict[str, int] = Field(description="activities counted per type, scored or not (caps, repeats)")
    days: list[DayView] = Field(description="days with any activity, oldest first")


class TypeRuleView(Model):
    points: int
    daily_cap: int | None = Field(description="scored activities of this type per day; null: no cap")
    once_per_target: bool = False


class RulesVersion(Model):
    version: int
    effective_from: str
    types: dict[str, TypeRuleView]


class RulesView(RulesVersion):
    upcoming: list[RulesVersion] = []


class TypeRuleIn(Strict):
    points: StrictInt = Field(ge=0, le=100)
    daily_cap: StrictInt | None = Field(None, ge=1, le=1000)
    once_per_target: StrictBool = False


class PublishRules(Strict):
    effective_from: date = Field(description="an Asia/Shanghai day after today")
    types: dict[ActivityType, TypeRuleIn] = Field(min_length=1, max_length=20)


class FilingQuery(PageQuery):
    org_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    month: str | None = Field(
        None,
        pattern=MONTH,
        description="YYYY-MM (Asia/Shanghai), a month already filed; default the month before",
    )
    rows: Literal["members", "orgs"] | None = Field(
        None, description="members (default for a county or branch) or child orgs (default above)"
    )


class Figures(Model):
    members: int
    active_members: int
    points: int
    average_points: float | None
    distribution: dict[str, int] = Field(description="members per bucket of month points")


class FilingMemberRow(Model):
    registration_number: str
    name: str
    branch_id: str
    points: int
    active_days: int
    counts: dict[str, int]


class FilingOrgRow(Figures):
    org_id: str
    name: str
    level: str


class ParticipationFilingPage(Model):
    month: str
    as_of: str
    org_id: str
    name: str
    level: str
    rows: Literal["members", "orgs"]
    summary: Figures
    items: list[FilingMemberRow | FilingOrgRow]
    next_cursor: str | None
