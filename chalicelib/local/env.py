"""Point this process at the local stack: environment, settings, and the app object."""

from __future__ import annotations

import importlib
import os
import sys
from typing import Any

from chalicelib.config import reset_settings
from chalicelib.local.bootstrap import REPO_ROOT
from chalicelib.store.clients import reset_clients

REGION = "us-east-1"


def use_local_aws(endpoint: str) -> None:
    """Send every AWS call of this process to `endpoint` with fake credentials, never to AWS."""
    env = os.environ
    env["MMP_AWS_ENDPOINT"] = endpoint
    # boto3 reads this for every client, so a library building its own client stays local too
    env["AWS_ENDPOINT_URL"] = endpoint
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        env[name] = "testing"
    env.pop("AWS_PROFILE", None)
    env["AWS_DEFAULT_REGION"] = env["AWS_REGION"] = REGION
    env["AWS_ACCOUNT_ID_ENDPOINT_MODE"] = "disabled"
    env["MMP_STAGE"] = "local"
    refresh()


def use_saved_stack(info: dict[str, Any]) -> None:
    """Point at a running local stack described by its `admin.json`."""
    use_local_aws(info["aws_endpoint"])
    os.environ["MMP_USER_POOL_ID"] = info["user_pool_id"]
    os.environ["MMP_USER_POOL_CLIENT_ID"] = info["user_pool_client_id"]
    os.environ["MMP_CONTENT_BUCKET"] = info["content_bucket"]
    os.environ["MMP_JWKS_URL"] = f"{info['aws_endpoint']}/{info['user_pool_id']}/.well-known/jwks.json"
    refresh()


def export_stream_arns() -> dict[str, str]:
    """Set `MMP_STREAM_ARN_<TABLE>` for every streamed table, so consumers declare real ARNs."""
    from chalicelib.store.tables import stream_arns

    arns = stream_arns()
    for logical, arn in arns.items():
        os.environ[f"MMP_STREAM_ARN_{logical.upper()}"] = arn
    refresh()
    return arns


def refresh() -> None:
    """Forget settings, clients and model bindings made from the environment before it changed."""
    from chalicelib.store import models

    reset_settings()
    reset_clients()
    models.bind_models()


def load_app() -> Any:
    """Import the top-level `app.py` and return its Chalice `app`."""
    if str(REPO_ROOT) not in sys.path:
        sys.path.insert(0, str(REPO_ROOT))
    module = importlib.import_module("app")
    return module.app
