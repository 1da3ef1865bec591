"""Typed settings read from the environment at call time.

Nothing here connects to AWS: the same code runs under moto in tests, on the local stack and in
Lambda, and only the environment tells them apart.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache


@dataclass(frozen=True)
class Settings:
    stage: str
    region: str
    table_prefix: str
    aws_endpoint: str | None
    content_bucket: str
    user_pool_id: str
    user_pool_client_id: str
    jwks_url: str | None
    jwks_file: str | None
    cursor_secret: str
    tracing: bool
    bulletin_queue: str

    def table(self, name: str) -> str:
        """Physical table name for a logical one (`members` -> `mmp-local-members`)."""
        return f"{self.table_prefix}{name}"

    @property
    def issuer(self) -> str:
        return f"https://cognito-idp.{self.region}.amazonaws.com/{self.user_pool_id}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Settings for this process; `reset_settings()` forgets them (tests change the env)."""
    env = os.environ
    stage = env.get("MMP_STAGE", "local")
    return Settings(
        stage=stage,
        region=env.get("AWS_DEFAULT_REGION") or env.get("AWS_REGION") or "us-east-1",
        table_prefix=env.get("MMP_TABLE_PREFIX", f"mmp-{stage}-"),
        aws_endpoint=env.get("MMP_AWS_ENDPOINT") or None,
        content_bucket=env.get("MMP_CONTENT_BUCKET", f"mmp-{stage}-content"),
        user_pool_id=env.get("MMP_USER_POOL_ID", ""),
        user_pool_client_id=env.get("MMP_USER_POOL_CLIENT_ID", ""),
        jwks_url=env.get("MMP_JWKS_URL") or None,
        jwks_file=env.get("MMP_JWKS_FILE") or None,
        cursor_secret=env.get("MMP_CURSOR_SECRET", "local-cursor-secret"),
        tracing=env.get("MMP_TRACING", "0") == "1",
        bulletin_queue=env.get("MMP_BULLETIN_QUEUE", f"mmp-{stage}-bulletin-uploads"),
    )


def reset_settings() -> None:
    get_settings.cache_clear()
