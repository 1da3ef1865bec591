"""Bring a fresh (or already prepared) moto up to what the app expects, and save the admin login.

Idempotent: tables, the content bucket, the Cognito user pool and app client, the department tree
and the central administrator are created only when missing, so running it twice against the same
moto changes nothing the second time.
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from chalicelib.config import get_settings, reset_settings
from chalicelib.store.clients import client, reset_clients
from chalicelib.store.tables import create_tables

REPO_ROOT = Path(__file__).resolve().parents[2]
MIN_PASSWORD_LENGTH = 10
APP_CLIENT_FLOWS = ["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]


def local_dir() -> Path:
    """Where the local stack keeps its files: `MMP_LOCAL_DIR`, else `.local/` in the repository."""
    return Path(os.environ.get("MMP_LOCAL_DIR") or REPO_ROOT / ".local")


def api_url() -> str:
    """The URL the local HTTP server answers on (`PORT`, default 8000)."""
    return f"http://127.0.0.1:{os.environ.get('PORT') or 8000}"


def read_admin_file() -> dict[str, Any]:
    """The saved `admin.json`, or an empty dict when there is none (or it is unreadable)."""
    try:
        return json.loads((local_dir() / "admin.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def ensure_bucket(name: str) -> None:
    """Create the bucket unless it exists."""
    s3 = client("s3")
    try:
        s3.create_bucket(Bucket=name)
    except ClientError as exc:
        if exc.response["Error"]["Code"] not in {"BucketAlreadyOwnedByYou", "BucketAlreadyExists"}:
            raise


def _find_user_pool(name: str) -> str | None:
    idp = client("cognito-idp")
    kwargs: dict[str, Any] = {"MaxResults": 60}
    while True:
        page = idp.list_user_pools(**kwargs)
        for pool in page.get("UserPools", []):
            if pool["Name"] == name:
                return pool["Id"]
        if not page.get("NextToken"):
            return None
        kwargs["NextToken"] = page["NextToken"]


def _find_app_client(pool_id: str, name: str) -> str | None:
    idp = client("cognito-idp")
    kwargs: dict[str, Any] = {"UserPoolId": pool_id, "MaxResults": 60}
    while True:
        page = idp.list_user_pool_clients(**kwargs)
        for app_client in page.get("UserPoolClients", []):
            if app_client["ClientName"] == name:
                return app_client["ClientId"]
        if not page.get("NextToken"):
            return None
        kwargs["NextToken"] = page["NextToken"]


def ensure_user_pool() -> tuple[str, str]:
    """The member user pool and its mobile app client, created when missing: (pool id, client id)."""
    stage = get_settings().stage
    idp = client("cognito-idp")
    pool_name, client_name = f"mmp-{stage}-members", f"mmp-{stage}-mobile"
    pool_id = _find_user_pool(pool_name)
    if pool_id is None:
        pool_id = idp.create_user_pool(
            PoolName=pool_name,
            Policies={
                "PasswordPolicy": {
                    "MinimumLength": MIN_PASSWORD_LENGTH,
                    "RequireUppercase": False,
                    "RequireLowercase": False,
                    "RequireNumbers": False,
                    "RequireSymbols": False,
                }
            },
            # the username is the registration number: no email or phone sign-in, nothing to verify
            AutoVerifiedAttributes=[],
            AdminCreateUserConfig={"AllowAdminCreateUserOnly": True},
        )["UserPool"]["Id"]
    client_id = _find_app_client(pool_id, client_name)
    if client_id is None:
        client_id = idp.create_user_pool_client(
            UserPoolId=pool_id,
            ClientName=client_name,
            GenerateSecret=False,
            ExplicitAuthFlows=APP_CLIENT_FLOWS,
        )["UserPoolClient"]["ClientId"]
    return pool_id, client_id


def choose_admin_password(explicit: str | None = None) -> str:
    """The admin password: given, else `MMP_ADMIN_PASSWORD`, else the saved one, else a new random one."""
    password = explicit or os.environ.get("MMP_ADMIN_PASSWORD") or read_admin_file().get("password")
    if not password:
        password = secrets.token_urlsafe(18)  # 24 characters
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"the admin password needs at least {MIN_PASSWORD_LENGTH} characters")
    return password


def _write_admin_file(info: dict[str, Any]) -> Path:
    directory = local_dir()
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "admin.json"
    tmp = path.with_suffix(".json.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(info, handle, indent=2)
        handle.write("\n")
    os.replace(tmp, path)
    return path


def print_summary(info: dict[str, Any]) -> None:
    """Print the admin login, the API URL and the local AWS endpoint."""
    print(f"admin registration number: {info['registration_number']}")
    print(f"admin password: {info['password']}")
    print(f"api url: {info['api_url']}")
    print(f"aws endpoint (S3, DynamoDB, Cognito, SQS): {info['aws_endpoint']}")
    print(f"content bucket: {info['content_bucket']}")


def bootstrap(admin_password: str | None = None, *, quiet: bool = False) -> dict[str, Any]:
    """Create whatever is missing, save `admin.json` in the local dir and return what it holds."""
    password = choose_admin_password(admin_password)
    create_tables()
    settings = get_settings()
    ensure_bucket(settings.content_bucket)
    from chalicelib.store.events import ensure_routes

    ensure_routes()  # the event bus and the rule sending urgent bulletins to the push queue
    from chalicelib.store.kms import ensure_keys

    ensure_keys()  # the reports key (encrypt only, for the app) and the reporters' lookup MAC key
    pool_id, client_id = ensure_user_pool()
    os.environ["MMP_USER_POOL_ID"] = pool_id
    os.environ["MMP_USER_POOL_CLIENT_ID"] = client_id
    if settings.aws_endpoint:
        os.environ["MMP_JWKS_URL"] = f"{settings.aws_endpoint.rstrip('/')}/{pool_id}/.well-known/jwks.json"
    reset_settings()
    reset_clients()
    # imported here, not at the top: the services must see the settings changed just above
    from chalicelib.services.seed import seed_platform

    number = seed_platform(password)["admin"]
    settings = get_settings()
    info = {
        "registration_number": number,
        "password": password,
        "api_url": api_url(),
        "aws_endpoint": settings.aws_endpoint,
        "content_bucket": settings.content_bucket,
        "user_pool_id": pool_id,
        "user_pool_client_id": client_id,
    }
    _write_admin_file(info)
    if not quiet:
        print_summary(info)
    return info
