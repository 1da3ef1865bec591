"""With MMP_TRACING=1 requests run inside a tracer subsegment (X-Ray is disabled in tests)."""

import os


def test_requests_work_with_tracing_switched_on(platform, monkeypatch):
    from chalicelib.config import reset_settings
    from chalicelib.observability import tracer

    monkeypatch.setenv("MMP_TRACING", "1")
    reset_settings()
    tracer.cache_clear()
    try:
        assert tracer() is not None
        assert platform.get("/v1/orgs/central", platform.admin_token).status_code == 200
    finally:
        monkeypatch.delenv("MMP_TRACING")
        reset_settings()
        tracer.cache_clear()
    assert os.environ.get("POWERTOOLS_TRACE_DISABLED") == "true"
