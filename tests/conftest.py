"""Test-wide environment: fake AWS credentials and a local stage, set before any project import."""

import os

os.environ.update(
    AWS_ACCESS_KEY_ID="testing",
    AWS_SECRET_ACCESS_KEY="testing",  # noqa: S105
    AWS_SESSION_TOKEN="testing",  # noqa: S105
    AWS_DEFAULT_REGION="us-east-1",
    AWS_ACCOUNT_ID_ENDPOINT_MODE="disabled",
    MMP_STAGE="test",
    MMP_TABLE_PREFIX="mmp-test-",
    MMP_CONTENT_BUCKET="mmp-test-content",
    MMP_FEED_HEAD_TTL="0",  # in-process tests read every feed page from DynamoDB (test_feed checks the cache)
    POWERTOOLS_METRICS_DISABLED="true",
    POWERTOOLS_TRACE_DISABLED="true",
    POWERTOOLS_LOG_LEVEL="INFO",
)
os.environ.pop("MMP_AWS_ENDPOINT", None)


def pytest_collection_modifyitems(config, items):
    """Under `-n` (pytest-xdist, `--dist loadgroup`), each suite that starts something expensive
    once per process (the local stack, the CDK synth) stays on one worker."""
    import pytest

    for item in items:
        top = item.nodeid.split("/")[1] if item.nodeid.startswith("tests/") else ""
        if top in ("e2e", "infra"):
            item.add_marker(pytest.mark.xdist_group(top))
