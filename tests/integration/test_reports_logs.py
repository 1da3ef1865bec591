"""Logs never name the sender of an anonymous report, not even by the log pseudonym `member_ref`.

Everything logged (ours and every library's, at INFO and above) while a member files anonymous
reports, follows them, and while handlers list, open and answer them, is captured and searched
for the reporter's number, name, phone, pseudonym, ciphertext and lookup MAC.
"""

import base64
import io
import logging

import pytest

from chalicelib.observability import member_ref


@pytest.fixture
def all_logs():
    """Our log lines as they are shipped (JSON with every extra key), and every library's lines."""
    from chalicelib.observability import logger as powertools_logger

    buffer = io.StringIO()
    ours = logging.StreamHandler(buffer)
    ours.setFormatter(powertools_logger.registered_formatter)
    everything = logging.StreamHandler(buffer)
    everything.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    mmp, root = logging.getLogger("mmp"), logging.getLogger()
    old_level = root.level
    root.setLevel(logging.INFO)
    mmp.addHandler(ours)
    root.addHandler(everything)
    yield buffer
    mmp.removeHandler(ours)
    root.removeHandler(everything)
    root.setLevel(old_level)


@pytest.fixture
def cast(platform):
    """A reporter and their county's staff (Mentougou), all set up before the logs are captured."""
    branch = platform.new_branch("div-110109")
    name, phone = "隐身的举报人", "13700137000"
    reporter, token = platform.new_member(branch, name=name, phone=phone)
    staff, staff_token = platform.new_member()
    platform.grant("div-110109", staff)
    return {"reporter": reporter, "token": token, "name": name, "phone": phone, "staff": staff_token}


def test_filing_following_and_handling_anonymous_reports_logs_no_reporter(platform, cast, all_logs):
    from chalicelib.config import get_settings
    from chalicelib.services.cases import open_cases_for
    from chalicelib.store import members
    from chalicelib.store.clients import client

    token, staff = cast["token"], cast["staff"]
    body = {"subject": "举报 report", "body": "内容 content", "anonymous": True}
    first = platform.post("/v1/reports", body, token).json_body["case_id"]
    second = platform.post(
        "/v1/reports", {**body, "about_org_id": "div-110109"}, token, {"Idempotency-Key": "anon-log-1"}
    ).json_body["case_id"]
    platform.post(
        "/v1/reports", {**body, "about_org_id": "div-110109"}, token, {"Idempotency-Key": "anon-log-1"}
    )
    platform.post("/v1/reports", {**body, "anonymous": "yes"}, token)  # a refused one too
    platform.get("/v1/cases/mine", token)
    platform.get(f"/v1/cases/{first}", token)
    platform.get("/v1/cases?org_id=div-110109", staff)
    platform.get(f"/v1/cases/{first}", staff)
    platform.post(f"/v1/cases/{first}/responses", {"body": "受理", "status": "accepted"}, staff)
    platform.post(f"/v1/cases/{first}/responses", {"body": "again", "status": "submitted"}, staff)
    platform.post(f"/v1/cases/{first}/responses", {"body": "no", "status": "accepted"}, token)
    open_cases_for(members.get(platform.admin_number))
    open_cases_for(cast["reporter"])

    text = all_logs.getvalue()
    assert "report filed" in text and first in text  # the work was logged at all
    item = client("dynamodb").get_item(
        TableName=get_settings().table("cases"), Key={"case_id": {"S": second}}
    )["Item"]
    blob = item["reporter_ciphertext"]["B"]
    for secret in (
        cast["reporter"],
        cast["name"],
        cast["phone"],
        member_ref(cast["reporter"]),
        base64.b64encode(blob).decode()[:40],
        blob.hex()[:40],
        item["reporter_mac"]["S"],
    ):
        assert secret not in text, f"reporter identity in logs: {secret[:8]}..."


def test_a_named_report_may_log_the_pseudonym_but_never_the_number(platform, cast, all_logs):
    platform.post("/v1/reports", {"subject": "s", "body": "b", "anonymous": False}, cast["token"])
    text = all_logs.getvalue()
    assert member_ref(cast["reporter"]) in text
    for secret in (cast["reporter"], cast["name"], cast["phone"]):
        assert secret not in text
