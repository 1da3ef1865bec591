"""Local bootstrap: idempotent, saves a stable admin login, and configures the user pool (moto in-process).

The department seeding and the administrator are stood in for here: they are the services' to test,
and the real ones write thousands of departments.
"""

from __future__ import annotations

import json
import os
import uuid

import boto3
import pytest
from moto import mock_aws

from chalicelib.local import bootstrap as bootstrap_module


@pytest.fixture
def local(tmp_path, monkeypatch):
    """A unique stage in moto, a temporary local dir, stand-in services; everything restored after."""
    from chalicelib.config import reset_settings
    from chalicelib.services import accounts, orgs
    from chalicelib.store import models
    from chalicelib.store.clients import reset_clients

    calls = {"seed": 0, "admin": []}

    def seed_departments():
        calls["seed"] += 1
        return 0

    def bootstrap_administrator(password):
        calls["admin"].append(password)
        return "11010120261125001X"

    monkeypatch.setattr(orgs, "seed_departments", seed_departments)
    monkeypatch.setattr(accounts, "bootstrap_administrator", bootstrap_administrator)
    saved = dict(os.environ)
    stage = f"bt{uuid.uuid4().hex[:8]}"
    with mock_aws():
        for name in ("MMP_AWS_ENDPOINT", "MMP_ADMIN_PASSWORD", "MMP_USER_POOL_ID", "MMP_TABLE_PREFIX"):
            os.environ.pop(name, None)
        os.environ.update(
            {
                "MMP_STAGE": stage,
                "MMP_CONTENT_BUCKET": f"mmp-{stage}-content",
                "MMP_LOCAL_DIR": str(tmp_path),
                "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
                "AWS_DEFAULT_REGION": "us-east-1",
                "PORT": "18000",
            }
        )
        reset_settings()
        reset_clients()
        yield calls
    os.environ.clear()
    os.environ.update(saved)
    reset_settings()
    reset_clients()
    models.bind_models()


def test_bootstrap_creates_everything_and_saves_the_admin_login(local, tmp_path, capsys):
    info = bootstrap_module.bootstrap()

    saved = json.loads((tmp_path / "admin.json").read_text())
    assert saved == info
    assert set(saved) == {
        "registration_number",
        "password",
        "api_url",
        "aws_endpoint",
        "content_bucket",
        "user_pool_id",
        "user_pool_client_id",
    }
    assert saved["registration_number"] == "11010120261125001X"
    assert len(saved["password"]) >= 16
    assert local["admin"] == [saved["password"]]
    assert local["seed"] == 1
    assert saved["api_url"] == "http://127.0.0.1:18000"
    assert oct((tmp_path / "admin.json").stat().st_mode & 0o777) == "0o600"
    out = capsys.readouterr().out
    assert "admin registration number: 11010120261125001X\n" in out
    assert f"admin password: {saved['password']}\n" in out
    assert "http://127.0.0.1:18000" in out

    assert os.environ["MMP_USER_POOL_ID"] == saved["user_pool_id"]
    assert os.environ["MMP_USER_POOL_CLIENT_ID"] == saved["user_pool_client_id"]
    idp = boto3.client("cognito-idp", region_name="us-east-1")
    pool = idp.describe_user_pool(UserPoolId=saved["user_pool_id"])["UserPool"]
    assert pool["Policies"]["PasswordPolicy"]["MinimumLength"] == 10
    assert not pool["Policies"]["PasswordPolicy"]["RequireUppercase"]
    app_client = idp.describe_user_pool_client(
        UserPoolId=saved["user_pool_id"], ClientId=saved["user_pool_client_id"]
    )["UserPoolClient"]
    assert set(app_client["ExplicitAuthFlows"]) == {"ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"}
    assert "ClientSecret" not in app_client
    boto3.client("s3", region_name="us-east-1").head_bucket(Bucket=saved["content_bucket"])


def test_bootstrap_twice_changes_nothing_and_keeps_the_password(local, tmp_path):
    def all_tables():
        pages = boto3.client("dynamodb", region_name="us-east-1").get_paginator("list_tables").paginate()
        return [name for page in pages for name in page["TableNames"]]

    first = bootstrap_module.bootstrap(quiet=True)
    tables = all_tables()

    second = bootstrap_module.bootstrap(quiet=True)

    assert second == first
    assert all_tables() == tables
    pools = boto3.client("cognito-idp", region_name="us-east-1").list_user_pools(MaxResults=60)["UserPools"]
    assert [p["Id"] for p in pools if p["Name"] == f"mmp-{os.environ['MMP_STAGE']}-members"] == [
        first["user_pool_id"]
    ]


def test_the_password_comes_from_the_environment_first(local, monkeypatch):
    monkeypatch.setenv("MMP_ADMIN_PASSWORD", "from-the-environment")
    assert bootstrap_module.bootstrap(quiet=True)["password"] == "from-the-environment"
    assert local["admin"] == ["from-the-environment"]


def test_a_password_shorter_than_the_pool_allows_is_refused(local, monkeypatch):
    monkeypatch.setenv("MMP_ADMIN_PASSWORD", "short")
    with pytest.raises(ValueError, match="at least 10"):
        bootstrap_module.bootstrap(quiet=True)
