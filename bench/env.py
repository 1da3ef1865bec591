"""The environment the bench runs in: the same as `tests/conftest.py`, set before any project import."""

from __future__ import annotations

import os

ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    # botocore >= 1.44.4 sends some calls to account-specific hosts that moto does not know
    "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
    "MMP_STAGE": "test",
    "MMP_TABLE_PREFIX": "mmp-test-",
    "MMP_CONTENT_BUCKET": "mmp-test-content",
    "MMP_FEED_HEAD_TTL": "0",  # a cold container's feed; bench/content.py measures a warm one too
    "POWERTOOLS_METRICS_DISABLED": "true",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_LOG_LEVEL": "INFO",
}


def configure() -> None:
    """Fake credentials, the test stage, and no endpoint override (moto intercepts in-process)."""
    os.environ.update(ENVIRONMENT)
    os.environ.pop("MMP_AWS_ENDPOINT", None)
    os.environ.pop("MMP_TRACING", None)
