"""Request and response models: the routes parse with them and the OpenAPI document is built from them.

Shared bases live here with the identity and org models; each further area keeps its models in a
module of this package (`schemas/transfers.py`, ...), built on `Strict`, `Query` and `PageQuery`.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

NUMBER = r"^[0-9]{17}[0-9Xx]$"
ORG_ID = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")


class Model(BaseModel):
    """Base of every API model: validators are built on first use, not at import (cold starts)."""

    model_config = ConfigDict(defer_build=True)


class Strict(Model):
    """Unknown fields are an error, not silently dropped."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, defer_build=True)


class Query(Model):
    model_config = ConfigDict(extra="ignore", defer_build=True)


class PageQuery(Query):
    limit: int = Field(20, ge=1, le=100)
    cursor: str | None = Field(None, max_length=2048)


class Problem(Model):
    type: str
    title: str
    status: int
    detail: str
    errors: list[dict] = []


# ---- identity -------------------------------------------------------------------------------------


class RegistrationNumberCheck(Model):
    number: str
    valid: bool
    reason: str | None = None
    region_code: str | None = None
    join_date: str | None = None


class CreateMember(Strict):
    name: str = Field(min_length=1, max_length=100)
    region_code: str = Field(pattern=r"^[0-9]{6}$")
    join_date: date
    branch_id: str = ORG_ID
    phone: str | None = Field(None, pattern=r"^\+?[0-9][0-9 -]{5,19}$")


class MemberCreated(Model):
    registration_number: str
    activation_code: str
    activation_expires_at: str
    home_branch: str


class Activate(Strict):
    registration_number: str = Field(min_length=1, max_length=32)
    activation_code: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=10, max_length=256)


class Activated(Model):
    registration_number: str
    status: str


class Login(Strict):
    registration_number: str = Field(min_length=1, max_length=32)
    password: str = Field(min_length=1, max_length=256)


class Refresh(Strict):
    refresh_token: str = Field(min_length=1, max_length=8192)


class Tokens(Model):
    access_token: str
    refresh_token: str
    expires_in: int
    token_type: str


class Role(Model):
    org_id: str
    role: str


class MemberView(Model):
    registration_number: str
    name: str
    home_branch: str
    attached_branch: str | None
    virtual_branches: list[str]
    roles: list[Role]
    region_code: str
    join_date: str
    status: str
    phone: str | None
    dues_category: str = Field("employed", description="what the member pays dues by, set by the branch")


# ---- orgs -----------------------------------------------------------------------------------------


class OrgView(Model):
    org_id: str
    name: str
    level: Literal["central", "province", "city", "county", "branch", "virtual_branch"]
    parent_id: str | None
    division_code: str | None
    member_count: int
    path: list[str]
    created_at: str


class OrgPage(Model):
    items: list[OrgView]
    next_cursor: str | None


class OrgListQuery(PageQuery):
    parent_id: str | None = Field(None, min_length=1, max_length=64)
    division_code: str | None = Field(None, pattern=r"^[0-9]{6}$")


class CreateOrg(Strict):
    name: str = Field(min_length=1, max_length=100)
    parent_id: str = ORG_ID
    level: Literal["branch"] = "branch"


class GrantRole(Strict):
    registration_number: str = Field(pattern=NUMBER)
    role: Literal["staff", "editor", "secretary"]


class RoleGrantView(Model):
    org_id: str
    registration_number: str
    role: str
    granted_at: str | None = None
    revoked: bool | None = None


class RoleGrantPage(Model):
    items: list[RoleGrantView]
    next_cursor: str | None
