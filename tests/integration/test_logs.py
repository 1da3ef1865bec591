"""No personal data in any log line: names, phone numbers, passwords, tokens, codes, numbers."""

import io
import logging

import pytest


@pytest.fixture
def all_logs():
    """Everything logged at INFO or above, by our logger and by every library."""
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    ours = logging.getLogger("mmp")
    root = logging.getLogger()
    old_root_level = root.level
    root.setLevel(logging.INFO)
    for logger in (ours, root):
        logger.addHandler(handler)
    yield buffer
    for logger in (ours, root):
        logger.removeHandler(handler)
    root.setLevel(old_root_level)


def test_a_full_walkthrough_logs_no_personal_data(platform, all_logs):
    secret_name, phone, password = "隐私姓名", "13912345678", "do-not-log-this-password"
    branch = platform.new_branch()
    created = platform.register(branch, name=secret_name, phone=phone)
    number, code = created["registration_number"], created["activation_code"]
    platform.post(
        "/v1/auth/activate",
        {"registration_number": number, "activation_code": "WRONG-CODE-0000", "password": password},
    )
    platform.post(
        "/v1/auth/activate", {"registration_number": number, "activation_code": code, "password": password}
    )
    platform.post("/v1/auth/login", {"registration_number": number, "password": "wrong password here"})
    tokens = platform.post("/v1/auth/login", {"registration_number": number, "password": password}).json_body
    platform.get("/v1/members/me", tokens["access_token"])
    platform.get(f"/v1/members/{number}", platform.admin_token)
    platform.post("/v1/auth/refresh", {"refresh_token": tokens["refresh_token"]})

    text = all_logs.getvalue()
    assert "member registered" in text and "login" in text  # the walk-through was logged at all
    for secret in (
        secret_name,
        phone,
        password,
        code,
        code.replace("-", ""),
        number,
        tokens["access_token"][:40],
        tokens["refresh_token"][:40],
    ):
        assert secret not in text, f"personal data in logs: {secret[:6]}..."
