"""Logger, metrics and tracer for every function; no personal data is ever passed to them.

The X-Ray SDK behind powertools' Tracer costs ~300 ms of imports, so it is loaded only when
`MMP_TRACING=1`; deployed, API Gateway and Lambda active tracing give the request segments anyway.
"""

from __future__ import annotations

import os
from functools import lru_cache
from typing import Any

from aws_lambda_powertools import Logger

os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "mmp")
logger = Logger(service="mmp")


@lru_cache(maxsize=1)
def metrics() -> Any:
    """powertools Metrics (EMF), created on first use."""
    from aws_lambda_powertools import Metrics

    return Metrics(namespace="MobileMemberPlatform", service="mmp")


@lru_cache(maxsize=1)
def tracer() -> Any | None:
    """powertools Tracer when tracing is on, else None (and nothing imported)."""
    from chalicelib.config import get_settings

    if not get_settings().tracing:
        return None
    from aws_lambda_powertools import Tracer

    return Tracer(service="mmp")


def count(name: str, value: int = 1) -> None:
    """Add to a business metric (flushed at the end of the request)."""
    if os.environ.get("POWERTOOLS_METRICS_DISABLED", "").lower() == "true":
        return
    from aws_lambda_powertools.metrics import MetricUnit

    metrics().add_metric(name=name, unit=MetricUnit.Count, value=value)


def flush() -> None:
    """Write out the metrics gathered in this request, if any."""
    if metrics.cache_info().currsize:
        m = metrics()
        if m.metric_set:
            m.flush_metrics()


def member_ref(registration_number: str) -> str:
    """A stable pseudonym for log lines: the number itself (region, join date) never reaches logs."""
    import hashlib

    return hashlib.sha256(b"mmp-log:" + registration_number.encode()).hexdigest()[:16]
