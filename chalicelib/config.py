"""Typed settings read from the environment at call time.

Nothing here connects to AWS: the same code runs under moto in tests, on the local stack and in
Lambda, and only the environment tells them apart.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache

# how many times a queue message is received before it goes to the queue's dead-letter queue
# (`{queue}-dlq`): the redrive policy infra declares, and what the local event pump does
QUEUE_MAX_RECEIVES = 5


def dead_letter_queue(queue_name: str) -> str:
    """The dead-letter queue of a queue, by name (infra and the local stack name them alike)."""
    return f"{queue_name}-dlq"


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
    # BulletinPublished goes to this bus; a rule sends urgent ones to the push queue, whose consumer
    # publishes to the scope's SNS topic (`{bulletin_topic_prefix}{scope}`)
    event_bus: str
    urgent_push_queue: str
    bulletin_topic_prefix: str
    # KMS keys of reports: encrypt the reporter of anonymous reports (never decrypted by the app),
    # and an HMAC key that lets a reporter find their own anonymous reports
    reports_key_id: str
    reports_lookup_key_id: str
    # one message per department of a monthly participation filing (`*_queue`: infra adds a DLQ)
    participation_filing_queue: str
    # how long a container reuses the first page it read of a scope's feed (store.content.feed_read):
    # at a peak every member's feed asks for central's head; 0 reads DynamoDB every time
    feed_head_ttl: float

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
        event_bus=env.get("MMP_EVENT_BUS", f"mmp-{stage}-events"),
        urgent_push_queue=env.get("MMP_URGENT_PUSH_QUEUE", f"mmp-{stage}-urgent-push"),
        bulletin_topic_prefix=env.get("MMP_BULLETIN_TOPIC_PREFIX", f"mmp-{stage}-bulletins-"),
        reports_key_id=env.get("MMP_REPORTS_KEY_ID", f"alias/mmp-{stage}-reports"),
        reports_lookup_key_id=env.get("MMP_REPORTS_LOOKUP_KEY_ID", f"alias/mmp-{stage}-reports-lookup"),
        participation_filing_queue=env.get(
            "MMP_PARTICIPATION_FILING_QUEUE", f"mmp-{stage}-participation-filing"
        ),
        feed_head_ttl=_seconds(env.get("MMP_FEED_HEAD_TTL"), 0.5),
    )


def _seconds(value: str | None, default: float) -> float:
    try:
        return max(0.0, float(value)) if value else default
    except ValueError:
        return default


def reset_settings() -> None:
    get_settings.cache_clear()
