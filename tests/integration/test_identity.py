"""Registration numbers, activation, login, lock-out, refresh and reading members."""

import json
from datetime import date

from tests.integration.test_conventions import assert_problem


def test_registration_number_check_is_public_and_explains(platform):
    ok = platform.get("/v1/registration-numbers/11010519491231002X").json_body
    assert ok == {
        "number": "11010519491231002X",
        "valid": True,
        "region_code": "110105",
        "join_date": "1949-12-31",
    } or (ok["valid"] and ok["region_code"] == "110105")
    bad = platform.get("/v1/registration-numbers/110105194912310021").json_body
    assert bad["valid"] is False and bad["reason"] == "check_character"
    short = platform.get("/v1/registration-numbers/123").json_body
    assert short["valid"] is False and short["reason"] == "length"


def test_registered_numbers_are_valid_and_sequential(platform):
    branch = platform.new_branch()
    day = date(2019, 5, 6)
    numbers = [platform.register(branch, join_date=day)["registration_number"] for _ in range(3)]
    seqs = [int(n[14:17]) for n in numbers]
    assert seqs == sorted(seqs) and len(set(numbers)) == 3
    for n in numbers:
        assert platform.get(f"/v1/registration-numbers/{n}").json_body["valid"] is True


def test_region_code_must_be_a_current_county(platform):
    branch = platform.new_branch()
    resp = platform.post(
        "/v1/members",
        {"name": "x", "region_code": "110103", "join_date": "2020-01-01", "branch_id": branch},
        platform.admin_token,
    )
    body = assert_problem(resp, 400)
    assert body["errors"][0]["field"] == "region_code"


def test_future_join_date_is_rejected(platform):
    branch = platform.new_branch()
    resp = platform.post(
        "/v1/members",
        {"name": "x", "region_code": "110105", "join_date": "2999-01-01", "branch_id": branch},
        platform.admin_token,
    )
    assert_problem(resp, 400)


def test_the_1000th_member_of_a_region_and_day_gets_409(platform):
    from chalicelib.store import models

    branch = platform.new_branch()
    models.Sequence("110106#20180102", last=998).save()
    last = platform.register(branch, region_code="110106", join_date=date(2018, 1, 2))
    assert last["registration_number"][14:17] == "999"
    resp = platform.post(
        "/v1/members",
        {"name": "x", "region_code": "110106", "join_date": "2018-01-02", "branch_id": branch},
        platform.admin_token,
    )
    body = assert_problem(resp, 409)
    assert "110106" in body["detail"] and "999" in body["detail"]


def test_activation_code_works_once_and_short_passwords_are_refused(platform):
    branch = platform.new_branch()
    created = platform.register(branch)
    number, code = created["registration_number"], created["activation_code"]
    short = platform.post(
        "/v1/auth/activate", {"registration_number": number, "activation_code": code, "password": "short"}
    )
    assert_problem(short, 400)
    ok = platform.post(
        "/v1/auth/activate",
        {"registration_number": number, "activation_code": code, "password": "first password"},
    )
    assert ok.status_code == 200
    again = platform.post(
        "/v1/auth/activate",
        {"registration_number": number, "activation_code": code, "password": "second password"},
    )
    assert_problem(again, 400)
    assert platform.login(number, "first password")


def test_activation_code_is_stored_only_as_a_hash(platform):
    from chalicelib.store import models

    created = platform.register(platform.new_branch())
    item = models.Member.get(created["registration_number"])
    raw = json.dumps(item.to_simple_dict(), ensure_ascii=False)
    assert created["activation_code"] not in raw
    assert created["activation_code"].replace("-", "") not in raw


def test_expired_activation_code_is_refused(platform):
    from chalicelib.store import models

    created = platform.register(platform.new_branch())
    item = models.Member.get(created["registration_number"])
    item.update(actions=[models.Member.activation_expires_at.set(1)], add_version_condition=False)
    resp = platform.post(
        "/v1/auth/activate",
        {
            "registration_number": created["registration_number"],
            "activation_code": created["activation_code"],
            "password": "long enough pw",
        },
    )
    body = assert_problem(resp, 400)
    assert "expired" in body["detail"]


def test_wrong_password_and_unknown_number_get_the_same_401(platform):
    number, _ = platform.new_member()
    wrong = platform.post("/v1/auth/login", {"registration_number": number, "password": "not the password"})
    unknown = platform.post(
        "/v1/auth/login", {"registration_number": "11010520200701999X", "password": "not the password"}
    )
    a, b = assert_problem(wrong, 401), assert_problem(unknown, 401)
    assert a["detail"] == b["detail"]


def test_ten_wrong_passwords_lock_the_number_for_fifteen_minutes(platform):
    number, _ = platform.new_member(password="the right password")
    for _ in range(10):
        resp = platform.post("/v1/auth/login", {"registration_number": number, "password": "wrong password"})
        assert resp.status_code == 401
    locked = platform.post(
        "/v1/auth/login", {"registration_number": number, "password": "the right password"}
    )
    assert_problem(locked, 429)
    assert 800 <= int(locked.headers["Retry-After"]) <= 900


def test_successful_login_writes_a_login_activity(platform):
    from chalicelib.store import models

    number, _ = platform.new_member()
    items = list(models.Activity.query(number))
    assert [i.type for i in items] == ["login"]


def test_refresh_gives_a_working_access_token(platform):
    number, _ = platform.new_member(password="refresh me please")
    tokens = platform.post(
        "/v1/auth/login", {"registration_number": number, "password": "refresh me please"}
    ).json_body
    resp = platform.post("/v1/auth/refresh", {"refresh_token": tokens["refresh_token"]})
    assert resp.status_code == 200, resp.body
    me = platform.get("/v1/members/me", resp.json_body["access_token"])
    assert me.json_body["registration_number"] == number
    assert_problem(platform.post("/v1/auth/refresh", {"refresh_token": "garbage"}), 401)


def test_tampered_expired_or_foreign_tokens_are_401(platform):
    import time

    import jwt

    _, token = platform.new_member()
    assert_problem(platform.get("/v1/members/me", token[:-4] + "AAAA"), 401)
    assert_problem(platform.get("/v1/members/me", "not-a-jwt"), 401)
    claims = jwt.decode(token, options={"verify_signature": False})
    from cryptography.hazmat.primitives.asymmetric import rsa

    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = jwt.encode(claims, other_key, algorithm="RS256", headers={"kid": "dummy"})
    assert_problem(platform.get("/v1/members/me", forged), 401)
    none_alg = jwt.encode({**claims, "exp": int(time.time()) + 60}, None, algorithm="none")
    assert_problem(platform.get("/v1/members/me", none_alg), 401)


def test_staff_see_members_of_their_subtree_only(platform):
    branch = platform.new_branch("div-110105")
    number, token = platform.new_member(branch)
    staff_number, staff_token = platform.new_member()
    platform.grant("div-110105", staff_number)
    outsider_number, outsider_token = platform.new_member(platform.new_branch("div-310101"))
    platform.grant("div-310101", outsider_number)

    assert platform.get(f"/v1/members/{number}", token).status_code == 200
    assert platform.get(f"/v1/members/{number}", staff_token).json_body["registration_number"] == number
    assert_problem(platform.get(f"/v1/members/{number}", outsider_token), 404)
    plain_number, plain_token = platform.new_member()
    assert_problem(platform.get(f"/v1/members/{number}", plain_token), 404)


def _moto_signed(claims):
    """A token signed with moto's user-pool key, as if the pool had issued it."""
    import gzip
    import os

    import jwt
    import moto.cognitoidp

    path = os.path.join(os.path.dirname(moto.cognitoidp.__file__), "resources", "jwks-private.json.gz")
    with open(path, "rb") as fh:
        jwk = json.loads(gzip.decompress(fh.read()))
    key = jwt.PyJWK(jwk["keys"][0] if "keys" in jwk else jwk).key
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": "dummy"})


def test_expired_wrong_client_wrong_issuer_and_id_tokens_are_refused(platform):
    import time

    import jwt

    number, token = platform.new_member()
    claims = jwt.decode(token, options={"verify_signature": False})
    assert platform.get("/v1/members/me", _moto_signed(claims)).status_code == 200  # the signer is right
    for bad in (
        {**claims, "exp": int(time.time()) - 60},
        {**claims, "client_id": "another-app"},
        {**claims, "iss": claims["iss"] + "x"},
        {**claims, "token_use": "id"},
        {k: v for k, v in claims.items() if k != "username"},
    ):
        assert_problem(platform.get("/v1/members/me", _moto_signed(bad)), 401)
