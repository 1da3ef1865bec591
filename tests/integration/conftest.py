"""In-process platform under moto: one mocked AWS per test session, unique ids per test."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from datetime import date

import pytest
from moto import mock_aws

ADMIN_PASSWORD = "admin-password-123"  # noqa: S105


@dataclass
class Platform:
    client: object
    admin_number: str
    admin_token: str

    def post(self, path, body=None, token=None, headers=None):
        return self.client.http.post(path, headers=_headers(token, headers), body=_json(body))

    def get(self, path, token=None, headers=None):
        return self.client.http.get(path, headers=_headers(token, headers))

    def delete(self, path, token=None, headers=None):
        return self.client.http.delete(path, headers=_headers(token, headers))

    def put(self, path, body=None, token=None, headers=None):
        return self.client.http.put(path, headers=_headers(token, headers), body=_json(body))

    def login(self, number, password):
        resp = self.post("/v1/auth/login", {"registration_number": number, "password": password})
        assert resp.status_code == 200, resp.body
        return resp.json_body["access_token"]

    def new_branch(self, parent_id="div-110105", token=None, name=None):
        resp = self.post(
            "/v1/orgs",
            {"name": name or f"branch {secrets.token_hex(3)}", "parent_id": parent_id},
            token or self.admin_token,
        )
        assert resp.status_code == 201, resp.body
        return resp.json_body["org_id"]

    def register(self, branch_id, token=None, region_code="110105", join_date=None, name="张三", phone=None):
        body = {
            "name": name,
            "region_code": region_code,
            "join_date": (join_date or date(2020, 7, 1)).isoformat(),
            "branch_id": branch_id,
        }
        if phone:
            body["phone"] = phone
        resp = self.post("/v1/members", body, token or self.admin_token)
        assert resp.status_code == 201, resp.body
        return resp.json_body

    def new_member(self, branch_id=None, password="correct horse battery", **kw):
        """Register, activate and sign in a member; returns (number, token)."""
        branch_id = branch_id or self.new_branch()
        created = self.register(branch_id, **kw)
        number = created["registration_number"]
        resp = self.post(
            "/v1/auth/activate",
            {
                "registration_number": number,
                "activation_code": created["activation_code"],
                "password": password,
            },
        )
        assert resp.status_code == 200, resp.body
        return number, self.login(number, password)

    def grant(self, org_id, number, role="staff", token=None):
        resp = self.post(
            f"/v1/orgs/{org_id}/roles",
            {"registration_number": number, "role": role},
            token or self.admin_token,
        )
        assert resp.status_code == 201, resp.body


def _headers(token, extra):
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    headers.update(extra or {})
    return headers


def _json(body):
    import json

    if body is None:
        return b""
    if isinstance(body, bytes | str):
        return body
    return json.dumps(body)


def create_user_pool() -> None:
    """A user pool like infra's: passwords of at least 10 characters, password and refresh flows."""
    import boto3

    idp = boto3.client("cognito-idp")
    pool = idp.create_user_pool(
        PoolName="mmp-test",
        Policies={
            "PasswordPolicy": {
                "MinimumLength": 10,
                "RequireUppercase": False,
                "RequireLowercase": False,
                "RequireNumbers": False,
                "RequireSymbols": False,
            }
        },
    )["UserPool"]["Id"]
    client_id = idp.create_user_pool_client(
        UserPoolId=pool,
        ClientName="mobile",
        GenerateSecret=False,
        ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
    )["UserPoolClient"]["ClientId"]
    import moto.cognitoidp

    os.environ["MMP_USER_POOL_ID"] = pool
    os.environ["MMP_USER_POOL_CLIENT_ID"] = client_id
    os.environ["MMP_JWKS_FILE"] = os.path.join(
        os.path.dirname(moto.cognitoidp.__file__), "resources", "jwks-public.json.gz"
    )


@pytest.fixture(scope="session")
def aws():
    from chalicelib.local import fastquery, isolation

    isolation.install()
    fastquery.install()  # as the local stack's moto server does
    with mock_aws():
        from chalicelib.config import reset_settings
        from chalicelib.store.clients import reset_clients

        create_user_pool()
        reset_settings()
        reset_clients()
        from chalicelib.api.auth import forget_keys
        from chalicelib.store.tables import create_tables

        forget_keys()
        create_tables()
        from chalicelib.store.kms import ensure_keys

        ensure_keys()
        from tests.integration.content_setup import connect_content

        connect_content()  # content bucket, its upload notifications, the event bus and push queue
        yield


def _keep_the_test_environment() -> None:
    """chalice's test Client swaps `os.environ` for a copy holding the stage's variables (dev's
    table and bucket names) around every request and invocation. Requests from several threads (the
    race tests) interleave those swaps and can leave a copy in place for the rest of the session, so
    that settings read after it name dev's resources. The in-process platform runs in the test
    environment of tests/conftest.py instead, request or not."""
    import contextlib

    from chalice.test import BaseClient

    @contextlib.contextmanager
    def unchanged(self, environment_variables):  # type: ignore[no-untyped-def]
        yield

    BaseClient._patched_env_vars = unchanged


@pytest.fixture(scope="session")
def platform(aws):
    from chalice.test import Client

    from app import app
    from chalicelib.services.accounts import bootstrap_administrator
    from chalicelib.services.orgs import seed_departments

    seed_departments()
    from chalicelib.services.rules import seed_texts

    seed_texts()
    from chalicelib.services.scoring import seed_default_rules

    seed_default_rules()  # the scoring rules of API.md, version 1
    admin = bootstrap_administrator(ADMIN_PASSWORD)
    _keep_the_test_environment()
    with Client(app) as client:
        p = Platform(client=client, admin_number=admin, admin_token="")
        p.admin_token = p.login(admin, ADMIN_PASSWORD)
        yield p
