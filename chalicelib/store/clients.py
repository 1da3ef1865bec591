"""Lazily built boto3 clients, bound to the endpoint in settings at first use."""

from __future__ import annotations

from functools import cache
from typing import Any

from chalicelib.config import get_settings


@cache
def client(service: str) -> Any:
    """A boto3 client for `service` on the configured endpoint (moto locally)."""
    import boto3  # only the paths that talk to AWS pay for this import

    settings = get_settings()
    return boto3.client(service, region_name=settings.region, endpoint_url=settings.aws_endpoint)


def reset_clients() -> None:
    client.cache_clear()
