"""Reports: routed to the department supervising what they are about; anonymous ones for real.

An anonymous reporter's number is only ever KMS ciphertext (bound to the case) and a KMS MAC on
the case item. Handlers get nothing of it by any route: the queue, the case, their answers, the
inbox; the reporter still follows the case by its id and in `GET /v1/cases/mine`.
"""

import base64
import json

import pytest

from chalicelib.observability import member_ref
from tests.integration.test_conventions import assert_problem

REPORTER_NAME = "匿名举报人"


def report(platform, token, anonymous=True, about=None, subject="违规 irregularity", body="详情 details"):
    payload = {"subject": subject, "body": body, "anonymous": anonymous}
    if about is not None:
        payload["about_org_id"] = about
    return platform.post("/v1/reports", payload, token)


def raw_case(case_id):
    """The stored item as DynamoDB holds it (what an operator with table access would see)."""
    from chalicelib.config import get_settings
    from chalicelib.store.clients import client

    return client("dynamodb").get_item(
        TableName=get_settings().table("cases"), Key={"case_id": {"S": case_id}}
    )["Item"]


def cast(platform, county):
    """A reporter in a branch of `county`, its staff, the city's staff above, and outsiders."""
    branch = platform.new_branch(county)
    reporter, reporter_token = platform.new_member(branch, name=REPORTER_NAME, phone="13800138000")
    staff, staff_token = platform.new_member()
    platform.grant(county, staff)
    city, city_token = platform.new_member()
    platform.grant("div-110100", city)
    other, other_token = platform.new_member(platform.new_branch("div-310101"))
    platform.grant("div-310101", other)
    _, neighbour_token = platform.new_member(branch)
    return {
        "branch": branch,
        "reporter": reporter,
        "reporter_token": reporter_token,
        "staff": staff,
        "staff_token": staff_token,
        "city": city_token,
        "other_staff": other_token,
        "neighbour": neighbour_token,
    }


@pytest.fixture(scope="module")
def haidian(platform):
    return cast(platform, "div-110108")


@pytest.fixture
def fangshan(platform):
    """A reporter who files nothing but anonymous reports, in a county of their own (Fangshan)."""
    return cast(platform, "div-110111")


# ---- routing -----------------------------------------------------------------------------------------


def test_a_report_without_a_subject_org_goes_to_the_county_above_home(platform, haidian):
    resp = report(platform, haidian["reporter_token"])
    assert resp.status_code == 201, resp.body
    assert resp.json_body["status"] == "submitted" and resp.json_body["handling_org_id"] == "div-110108"


def test_a_report_about_a_branch_goes_to_the_county_supervising_it(platform, haidian):
    elsewhere = platform.new_branch("div-310101")
    resp = report(platform, haidian["reporter_token"], about=elsewhere)
    assert resp.json_body["handling_org_id"] == "div-310101"


@pytest.mark.parametrize(
    ("about", "handler"),
    [
        ("div-110105", "div-110100"),
        ("div-110100", "div-110000"),
        ("div-110000", "central"),
        ("central", "central"),
    ],
)
def test_a_report_about_a_department_goes_to_the_department_above_it(platform, haidian, about, handler):
    assert report(platform, haidian["reporter_token"], about=about).json_body["handling_org_id"] == handler


def test_a_report_about_a_virtual_branch_goes_to_its_supervising_department(platform, haidian):
    from tests.integration.test_virtual_branches import BASE, found

    _, founder_token = platform.new_member(platform.new_branch("div-110108"))  # no usable IP: Haidian
    vb = found(platform, founder_token)
    assert vb["supervising_org_id"] == "div-110108"
    reported = report(platform, haidian["reporter_token"], about=vb["org_id"])
    assert reported.json_body["handling_org_id"] == "div-110108"
    moved = platform.post(
        f"{BASE}/{vb['org_id']}/reassign",
        {"supervising_org_id": "div-110105", "reason": "x"},
        platform.admin_token,
    )
    assert moved.status_code == 200, moved.body
    again = report(platform, haidian["reporter_token"], about=vb["org_id"])
    assert again.json_body["handling_org_id"] == "div-110105"  # the department it is assigned to now


def test_a_report_about_an_unknown_org_is_a_field_error(platform, haidian):
    body = assert_problem(report(platform, haidian["reporter_token"], about="br-doesnotexist"), 400)
    assert body["errors"][0]["field"] == "about_org_id"


def test_a_named_report_shows_the_reporter_to_handlers(platform, haidian):
    case_id = report(platform, haidian["reporter_token"], anonymous=False).json_body["case_id"]
    seen = platform.get(f"/v1/cases/{case_id}", haidian["staff_token"]).json_body
    assert seen["anonymous"] is False
    assert seen["submitted_by"] == {"registration_number": haidian["reporter"], "name": REPORTER_NAME}


# ---- anonymity ---------------------------------------------------------------------------------------


def secrets_of(haidian, case_id):
    """Every form in which the reporter could leak: number, name, phone, log pseudonym, ciphertext, MAC."""
    item = raw_case(case_id)
    blob = item["reporter_ciphertext"]["B"]
    return [
        haidian["reporter"],
        REPORTER_NAME,
        "13800138000",
        member_ref(haidian["reporter"]),
        base64.b64encode(blob).decode(),
        blob.hex(),
        item["reporter_mac"]["S"],
    ]


def assert_nothing_of_the_reporter(text, secrets):
    for secret in secrets:
        assert secret not in text, f"reporter identity leaked: {secret[:8]}..."


def test_the_stored_case_holds_the_reporter_only_as_ciphertext_bound_to_the_case(platform, haidian):
    from chalicelib.config import get_settings
    from chalicelib.store.clients import client
    from chalicelib.store.kms import encryption_context

    case_id = report(platform, haidian["reporter_token"]).json_body["case_id"]
    item = raw_case(case_id)
    assert "member_number" not in item and "member_name" not in item
    text = json.dumps({k: v for k, v in item.items() if k != "reporter_ciphertext"}, ensure_ascii=False)
    assert haidian["reporter"] not in text and REPORTER_NAME not in text
    blob = item["reporter_ciphertext"]["B"]
    assert haidian["reporter"].encode() not in blob
    # what an audited break-glass role with kms:Decrypt could do; the app itself never calls Decrypt
    kms = client("kms")
    plain = kms.decrypt(CiphertextBlob=blob, EncryptionContext=encryption_context(case_id))["Plaintext"]
    assert plain.decode() == haidian["reporter"]
    assert (
        kms.describe_key(KeyId=get_settings().reports_key_id)["KeyMetadata"]["KeyUsage"] == "ENCRYPT_DECRYPT"
    )
    with pytest.raises(kms.exceptions.InvalidCiphertextException):  # moved to another case: useless
        kms.decrypt(CiphertextBlob=blob, EncryptionContext=encryption_context("case-0000000000000000"))


def test_no_code_path_of_the_app_decrypts(platform):
    from pathlib import Path

    import chalicelib

    root = Path(chalicelib.__file__).parent
    offenders = [
        str(path.relative_to(root))
        for path in root.rglob("*.py")
        if "decrypt(" in path.read_text(encoding="utf-8").lower()
    ]
    assert offenders == []


def test_handlers_get_nothing_of_an_anonymous_reporter_by_any_route(platform, fangshan):
    from chalicelib.services.cases import open_cases_for
    from chalicelib.store import members

    case_id = report(platform, fangshan["reporter_token"]).json_body["case_id"]
    secrets = secrets_of(fangshan, case_id)
    staff = fangshan["staff_token"]
    seen = []
    for query in ("", "&status=open", "&status=submitted", "&limit=100"):
        resp = platform.get(f"/v1/cases?org_id=div-110111{query}", staff)
        assert resp.status_code == 200
        seen.append(resp.body)
        assert case_id in {c["case_id"] for c in resp.json_body["items"]}
    city_queue = platform.get("/v1/cases?org_id=div-110111", fangshan["city"])
    seen.append(city_queue.body)
    for token in (staff, fangshan["city"], platform.admin_token):
        case = platform.get(f"/v1/cases/{case_id}", token)
        assert case.status_code == 200 and case.json_body["submitted_by"] is None
        seen.append(case.body)
    inbox = platform.get("/v1/inbox", staff)  # the open case waits in the handlers' to-do list
    assert case_id in {i["id"] for i in inbox.json_body["items"]}
    seen.append(inbox.body)
    for status in ("accepted", "accepted", "resolved"):
        answered = platform.post(
            f"/v1/cases/{case_id}/responses", {"body": "处理中", "status": status}, staff
        )
        assert answered.status_code == 201, answered.body
        assert answered.json_body["submitted_by"] is None
        seen.append(answered.body)
    for query in ("&status=accepted", "&status=resolved"):
        seen.append(platform.get(f"/v1/cases?org_id=div-110111{query}", staff).body)
    seen.append(json.dumps(open_cases_for(members.get(fangshan["staff"])), ensure_ascii=False))
    seen.append(platform.get("/v1/cases/mine", staff).body)  # the handler's own cases
    text = "\n".join(b.decode() if isinstance(b, bytes) else b for b in seen)
    assert case_id in text
    assert_nothing_of_the_reporter(text, secrets)


def test_the_retry_record_of_an_anonymous_report_does_not_name_its_reporter(platform, haidian):
    import hashlib

    from chalicelib.config import get_settings
    from chalicelib.store.clients import client
    from chalicelib.store.kms import reporter_mac

    key = "report-1"  # a guessable key must not let anyone test members against the record
    body = {"subject": "违规", "body": "详情", "anonymous": True}
    first = platform.post("/v1/reports", body, haidian["reporter_token"], {"Idempotency-Key": key})
    again = platform.post("/v1/reports", body, haidian["reporter_token"], {"Idempotency-Key": key})
    assert first.status_code == again.status_code == 201 and first.json_body == again.json_body
    _, other = platform.new_member(haidian["branch"])  # the same key from someone else: their own case
    theirs = platform.post("/v1/reports", body, other, {"Idempotency-Key": key})
    assert theirs.json_body["case_id"] != first.json_body["case_id"]

    def hashed(subject):
        route = "POST /v1/reports {}"
        return hashlib.md5(json.dumps([subject, route, key], sort_keys=True).encode()).hexdigest()  # noqa: S324

    items = client("dynamodb").scan(TableName=get_settings().table("idempotency"))["Items"]
    ids = " ".join(i["id"]["S"] for i in items)
    assert hashed("mac:" + reporter_mac(haidian["reporter"])) in ids  # the record is keyed this way
    assert hashed(haidian["reporter"]) not in ids
    assert haidian["reporter"] not in json.dumps(items, ensure_ascii=False)


def test_the_reporter_follows_their_anonymous_report(platform, haidian):
    case_id = report(platform, haidian["reporter_token"]).json_body["case_id"]
    platform.post(
        f"/v1/cases/{case_id}/responses", {"body": "已受理", "status": "accepted"}, haidian["staff_token"]
    )
    mine = platform.get("/v1/cases/mine?limit=100", haidian["reporter_token"]).json_body["items"]
    listed = next(c for c in mine if c["case_id"] == case_id)
    assert listed["anonymous"] is True and listed["status"] == "accepted"
    case = platform.get(f"/v1/cases/{case_id}", haidian["reporter_token"])
    assert case.status_code == 200
    assert case.json_body["responses"][0]["body"] == "已受理" and "submitted_by" not in case.json_body


def test_nobody_else_opens_an_anonymous_report(platform, haidian):
    case_id = report(platform, haidian["reporter_token"]).json_body["case_id"]
    for who in ("neighbour", "other_staff"):
        assert_problem(platform.get(f"/v1/cases/{case_id}", haidian[who]), 404)
        assert case_id not in platform.get("/v1/cases/mine", haidian[who]).body.decode()
    assert_problem(platform.get("/v1/cases?org_id=div-110108", haidian["other_staff"]), 403)
    answer = {"body": "x", "status": "accepted"}
    assert_problem(platform.post(f"/v1/cases/{case_id}/responses", answer, haidian["neighbour"]), 404)
    assert_problem(platform.post(f"/v1/cases/{case_id}/responses", answer, haidian["other_staff"]), 404)
    assert_problem(platform.post(f"/v1/cases/{case_id}/responses", answer, haidian["reporter_token"]), 404)
    assert_problem(platform.post(f"/v1/cases/{case_id}/responses", answer, haidian["city"]), 403)


def test_my_cases_merge_named_and_anonymous_ones_newest_first_across_pages(platform):
    _, token = platform.new_member(platform.new_branch("div-110109"))
    filed = []
    for i in range(7):
        if i % 3 == 0:
            resp = platform.post("/v1/appeals", {"subject": f"c{i}", "body": "b"}, token)
        else:
            resp = report(platform, token, anonymous=i % 2 == 1, subject=f"c{i}")
        filed.append(resp.json_body["case_id"])
    everything = platform.get("/v1/cases/mine?limit=100", token).json_body
    assert [c["case_id"] for c in everything["items"]] == filed[::-1] and everything["next_cursor"] is None
    for limit in (1, 2, 3):
        seen, cursor = [], None
        for _ in range(20):
            query = f"?limit={limit}" + (f"&cursor={cursor}" if cursor else "")
            page = platform.get(f"/v1/cases/mine{query}", token).json_body
            assert len(page["items"]) <= limit
            seen += [c["case_id"] for c in page["items"]]
            cursor = page["next_cursor"]
            if not cursor:
                break
        assert seen == filed[::-1], limit


def test_malformed_reports_get_400(platform, haidian):
    token = haidian["reporter_token"]
    for payload in (
        {"subject": "s", "body": "b", "anonymous": "yes"},
        {"subject": "s", "body": "b", "reporter": "me"},
        {"subject": "s", "body": "b", "about_org_id": "../etc"},
        {"body": "b"},
    ):
        assert_problem(platform.post("/v1/reports", payload, token), 400)
    assert_problem(report(platform, None), 401)
