"""The newcomer's path end to end in-process: admin signs in, creates a branch, registers, activates."""


def test_admin_registers_member_who_activates_and_reads_own_record(platform):
    branch = platform.new_branch(name="朝阳区第一支部")
    created = platform.register(branch, name="李四", phone="13800000000")
    number = created["registration_number"]
    assert len(number) == 18 and number.startswith("11010520200701")

    resp = platform.post(
        "/v1/auth/activate",
        {
            "registration_number": number,
            "activation_code": created["activation_code"],
            "password": "a long enough password",
        },
    )
    assert resp.status_code == 200, resp.body
    token = platform.login(number, "a long enough password")

    me = platform.get("/v1/members/me", token)
    assert me.status_code == 200, me.body
    body = me.json_body
    assert body["registration_number"] == number
    assert body["name"] == "李四"
    assert body["home_branch"] == branch
    assert body["attached_branch"] is None
    assert body["virtual_branches"] == [] and body["roles"] == []


def test_admin_me_shows_staff_on_central(platform):
    body = platform.get("/v1/members/me", platform.admin_token).json_body
    assert {"org_id": "central", "role": "staff"} in body["roles"]
