"""A mobile member's journey over real HTTP on the local stack, with the event pump doing its part:
a transfer filed and counted, a virtual branch supervised by IP, dues credited home, an appeal
routed, participation scored, and the monthly filing run from the `mmp` command."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone

import boto3

from tests.e2e.conftest import REPO_ROOT
from tests.e2e.test_http import call, login

SHANGHAI = timezone(timedelta(hours=8))
PASSWORD = "a long password"


def this_month() -> str:
    return datetime.now(SHANGHAI).strftime("%Y-%m")


def member(stack, admin, branch_id, name="李四"):
    """Register, activate and sign in a member of `branch_id`: (number, token)."""
    status, _, created = call(
        stack,
        "POST",
        "/v1/members",
        {"name": name, "region_code": "110105", "join_date": "2020-07-01", "branch_id": branch_id},
        admin,
    )
    assert status == 201, created
    number = created["registration_number"]
    status, _, body = call(
        stack,
        "POST",
        "/v1/auth/activate",
        {"registration_number": number, "activation_code": created["activation_code"], "password": PASSWORD},
    )
    assert status == 200, body
    return number, login(stack, number, PASSWORD)


def branch(stack, admin, parent):
    status, _, org = call(
        stack, "POST", "/v1/orgs", {"name": f"支部 {secrets.token_hex(3)}", "parent_id": parent}, admin
    )
    assert status == 201, org
    return org["org_id"]


def eventually(read, check, seconds=20):
    """Poll `read()` until `check(value)` holds (the pump delivers within a second or two)."""
    deadline = time.monotonic() + seconds
    while True:
        value = read()
        if check(value) or time.monotonic() > deadline:
            return value
        time.sleep(0.2)


def test_a_temporary_transfer_is_filed_and_counted_without_anyone_doing_anything(local_stack):
    admin = login(local_stack, local_stack.admin_number, local_stack.admin_password)
    home, there = branch(local_stack, admin, "div-110105"), branch(local_stack, admin, "div-310115")
    number, token = member(local_stack, admin, home)
    status, _, transfer = call(
        local_stack,
        "POST",
        "/v1/transfers",
        {"to_org_id": there, "kind": "temporary", "reason": "work in Shanghai"},
        token,
        {"Idempotency-Key": f"move-{number}"},
    )
    assert status == 201 and transfer["status"] == "effective", transfer
    _, _, me = call(local_stack, "GET", "/v1/members/me", token=token)
    assert (me["home_branch"], me["attached_branch"]) == (home, there)

    def filing_of(org_id):
        path = f"/v1/filings/transfers?org_id={org_id}&month={this_month()}&limit=100"
        return call(local_stack, "GET", path, token=admin)[2]["items"]

    def filed(items):
        return any(f["transfer_id"] == transfer["transfer_id"] for f in items)

    # both sides' departments list it, up to the centre
    for org_id in ("div-310000", "div-110105", "central"):
        assert filed(eventually(lambda o=org_id: filing_of(o), filed)), (org_id, local_stack.log())
    stats = eventually(
        lambda: call(local_stack, "GET", f"/v1/stats/orgs/{there}?month={this_month()}", token=admin)[2],
        lambda s: s.get("mobile_members") == 1,
    )
    assert stats["mobile_members"] == 1, stats
    # the member cannot read the central filing
    status, _, _ = call(
        local_stack, "GET", f"/v1/filings/transfers?org_id=central&month={this_month()}", token=token
    )
    assert status == 403


def test_a_virtual_branch_founded_from_a_beijing_address_is_supervised_in_beijing(local_stack):
    admin = login(local_stack, local_stack.admin_number, local_stack.admin_password)
    home = branch(local_stack, admin, "div-310115")  # Shanghai: the address, not the home, decides
    founder, founder_token = member(local_stack, admin, home, "欧阳修")
    applicant, applicant_token = member(local_stack, admin, home, "王五")
    _, _, rules = call(local_stack, "GET", "/v1/virtual-branches/rules")
    status, _, founded = call(
        local_stack,
        "POST",
        "/v1/virtual-branches",
        {
            "name": f"流动支部 {secrets.token_hex(2)}",
            "description": "程序员",
            "accepted_rules_version": rules["rules_version"],
            "accepted_covenant_version": rules["covenant_version"],
        },
        founder_token,
        {"X-Forwarded-For": "220.181.38.148, 10.0.0.1"},
    )
    assert status == 201, founded
    assert founded["supervising_division_code"].startswith("11"), founded  # Beijing
    vb = founded["org_id"]
    status, _, _ = call(local_stack, "POST", f"/v1/virtual-branches/{vb}/join-requests", {}, applicant_token)
    assert status == 201
    status, _, _ = call(
        local_stack,
        "POST",
        f"/v1/virtual-branches/{vb}/join-requests/{applicant}/approve",
        {},
        applicant_token,
    )
    assert status in (403, 404)  # only the secretary (or a deputy) decides
    status, _, decided = call(
        local_stack, "POST", f"/v1/virtual-branches/{vb}/join-requests/{applicant}/approve", {}, founder_token
    )
    assert status == 200, decided
    _, _, public = call(local_stack, "GET", f"/v1/virtual-branches/{vb}")
    assert public["member_count"] == 2 and public["secretary_name"] == "欧阳*"
    assert founder not in json.dumps(public, ensure_ascii=False)  # the registry shows no numbers


def test_dues_paid_while_attached_are_credited_home_and_an_appeal_goes_to_the_county(local_stack):
    admin = login(local_stack, local_stack.admin_number, local_stack.admin_password)
    home, there = branch(local_stack, admin, "div-110105"), branch(local_stack, admin, "div-310115")
    _, token = member(local_stack, admin, home)
    call(local_stack, "POST", "/v1/transfers", {"to_org_id": there, "kind": "temporary"}, token)
    body = {"period": this_month(), "amount_fen": 1500, "monthly_income_fen": 300000}
    status, _, paid = call(local_stack, "POST", "/v1/dues/payments", body, token)
    assert status == 201, paid
    assert (paid["credited_org_id"], paid["paid_at_org_id"]) == (home, there)
    status, _, again = call(local_stack, "POST", "/v1/dues/payments", body, token)
    assert status == 409, again
    status, _, case = call(
        local_stack, "POST", "/v1/appeals", {"subject": "关于组织关系", "body": "请复查"}, token
    )
    assert status == 201 and case["handling_org_id"] == "div-110105", case


def test_logins_are_scored_and_the_monthly_filing_runs_from_the_command_line(local_stack):
    admin = login(local_stack, local_stack.admin_number, local_stack.admin_password)
    home = branch(local_stack, admin, "div-110106")
    _, token = member(local_stack, admin, home)  # the login is an activity the pump scores
    scored = eventually(
        lambda: call(local_stack, "GET", f"/v1/members/me/participation?month={this_month()}", token=token)[
            2
        ],
        lambda p: p.get("points", 0) >= 1,
    )
    assert scored["points"] == 1 and scored["counts"] == {"login": 1}, scored
    # the month before, for one county, through `mmp filing run` (the installed command runs this module)
    first = datetime.now(SHANGHAI).replace(day=1)
    month = (first - timedelta(days=1)).strftime("%Y-%m")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "MMP_"))}
    env["MMP_LOCAL_DIR"] = str(local_stack.local_dir)
    cli = [sys.executable, "-m", "chalicelib.local.cli", "filing", "run", "--month", month]
    result = subprocess.run(
        [*cli, "--org-id", "div-110106", "--timeout", "120"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr + local_stack.log()
    assert f"filed {month}" in result.stdout
    s3 = boto3.client(
        "s3",
        endpoint_url=local_stack.aws_endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",  # noqa: S106
    )
    archive = s3.get_object(Bucket=local_stack.content_bucket, Key=f"filings/{month}/div-110106.json")
    filed = json.loads(archive["Body"].read())
    assert filed["month"] == month and filed["org_id"] == "div-110106"
    status, _, page = call(
        local_stack, "GET", f"/v1/filings/participation?org_id=div-110106&month={month}", token=admin
    )
    assert status == 200, page
    # a month that has not ended cannot be filed
    result = subprocess.run(
        [*cli[:-1], this_month(), "--org-id", "div-110106"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2, result.stdout + result.stderr
