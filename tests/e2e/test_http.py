"""The platform over real HTTP as a phone sees it: the stack started by `python -m chalicelib.local`."""

import gzip
import json
import time
import urllib.error
import urllib.request


def call(stack, method, path, body=None, token=None, headers=None):
    """One HTTP request with the standard library; returns (status, headers, parsed body or bytes)."""
    data = json.dumps(body).encode() if isinstance(body, dict) else body
    req = urllib.request.Request(stack.url + path, data=data, method=method)
    req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            status, hdrs, raw = resp.status, resp.headers, resp.read()
    except urllib.error.HTTPError as err:
        status, hdrs, raw = err.code, err.headers, err.read()
    if hdrs.get("Content-Encoding") == "gzip":
        raw = gzip.decompress(raw)
    try:
        return status, hdrs, json.loads(raw) if raw else None
    except ValueError:
        return status, hdrs, raw


def login(stack, number, password):
    status, _, body = call(
        stack, "POST", "/v1/auth/login", {"registration_number": number, "password": password}
    )
    assert status == 200, body
    return body["access_token"]


def test_newcomer_walkthrough_over_http(local_stack):
    token = login(local_stack, local_stack.admin_number, local_stack.admin_password)
    status, _, found = call(local_stack, "GET", "/v1/orgs?division_code=110105", token=token)
    assert status == 200 and any(o["org_id"] == "div-110105" for o in found["items"])
    status, _, branch = call(
        local_stack,
        "POST",
        "/v1/orgs",
        {"name": "朝阳区第一支部", "parent_id": "div-110105", "level": "branch"},
        token,
    )
    assert status == 201, branch
    status, _, created = call(
        local_stack,
        "POST",
        "/v1/members",
        {"name": "李四", "region_code": "110105", "join_date": "2020-07-01", "branch_id": branch["org_id"]},
        token,
        {"Idempotency-Key": "walk-1"},
    )
    assert status == 201, created
    number = created["registration_number"]
    status, _, body = call(
        local_stack,
        "POST",
        "/v1/auth/activate",
        {
            "registration_number": number,
            "activation_code": created["activation_code"],
            "password": "a long password",
        },
    )
    assert status == 200, body
    member_token = login(local_stack, number, "a long password")
    status, _, me = call(local_stack, "GET", "/v1/members/me", token=member_token)
    assert status == 200 and me["registration_number"] == number and me["home_branch"] == branch["org_id"]


def test_department_counts_follow_through_the_event_pump(local_stack):
    token = login(local_stack, local_stack.admin_number, local_stack.admin_password)
    _, _, before = call(local_stack, "GET", "/v1/orgs/div-110108", token=token)
    _, _, branch = call(
        local_stack, "POST", "/v1/orgs", {"name": "海淀支部", "parent_id": "div-110108"}, token
    )
    status, _, _ = call(
        local_stack,
        "POST",
        "/v1/members",
        {"name": "王五", "region_code": "110108", "join_date": "2021-01-01", "branch_id": branch["org_id"]},
        token,
    )
    assert status == 201
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        _, _, after = call(local_stack, "GET", "/v1/orgs/div-110108", token=token)
        if after["member_count"] == before["member_count"] + 1:
            break
        time.sleep(0.2)
    assert after["member_count"] == before["member_count"] + 1, local_stack.log()


def test_unknown_paths_and_methods_answer_problem_json(local_stack):
    status, hdrs, body = call(local_stack, "GET", "/v1/no-such-thing")
    assert (
        status == 404
        and hdrs["Content-Type"].startswith("application/problem+json")
        and body["status"] == 404
    )
    status, hdrs, body = call(local_stack, "DELETE", "/v1/members/me")
    assert status == 405 and hdrs["Content-Type"].startswith("application/problem+json")


def test_gzip_etag_and_304_over_http(local_stack):
    # Xinjiang's cities: a list no other test changes (the centre's children carry member counts
    # that the event pump moves as other tests register members)
    token = login(local_stack, local_stack.admin_number, local_stack.admin_password)
    status, hdrs, body = call(
        local_stack,
        "GET",
        "/v1/orgs?parent_id=div-650000&limit=100",
        token=token,
        headers={"Accept-Encoding": "gzip"},
    )
    assert status == 200 and hdrs["Content-Encoding"] == "gzip" and len(body["items"]) >= 10
    status, _, _ = call(
        local_stack,
        "GET",
        "/v1/orgs?parent_id=div-650000&limit=100",
        token=token,
        headers={"If-None-Match": hdrs["ETag"]},
    )
    assert status == 304


def test_oversized_and_malformed_bodies_are_4xx(local_stack):
    status, _, body = call(local_stack, "POST", "/v1/auth/login", b"x" * (65 * 1024))
    assert status == 413
    status, _, body = call(local_stack, "POST", "/v1/auth/login", b"\xff{not json")
    assert status == 400 and body["status"] == 400


def test_concurrent_requests_each_get_their_own_answer(local_stack):
    from concurrent.futures import ThreadPoolExecutor

    admin = login(local_stack, local_stack.admin_number, local_stack.admin_password)
    body = {"name": "并发支部", "parent_id": "div-110105"}
    _, _, branch = call(local_stack, "POST", "/v1/orgs", body, admin)
    people = []
    for i in range(3):
        _, _, created = call(
            local_stack,
            "POST",
            "/v1/members",
            {
                "name": f"成员{i}",
                "region_code": "110105",
                "join_date": "2023-03-03",
                "branch_id": branch["org_id"],
            },
            admin,
        )
        number = created["registration_number"]
        call(
            local_stack,
            "POST",
            "/v1/auth/activate",
            {
                "registration_number": number,
                "activation_code": created["activation_code"],
                "password": "parallel password",
            },
        )
        people.append((number, login(local_stack, number, "parallel password")))

    def whoami(i):
        number, token = people[i % len(people)]
        _, _, me = call(local_stack, "GET", "/v1/members/me", token=token)
        return number, me["registration_number"]

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(whoami, range(60)))
    assert all(expected == got for expected, got in results)
