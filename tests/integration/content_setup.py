"""Content plumbing for the in-process platform: the bucket, its upload queue, the event bus.

Also helpers for bulletin tests: edition files, uploads, and delivering the queued S3 notifications
and urgent events to the consumers exactly as Lambda (or the local event pump) would.
"""

from __future__ import annotations

import json
import secrets

from chalicelib.config import get_settings


def connect_content() -> None:
    """Create the content bucket, notify the upload queue of `bulletins/` uploads, and the event routes."""
    from chalicelib.local.bootstrap import ensure_bucket
    from chalicelib.local.pump import connect_bucket_to_queue
    from chalicelib.store.events import ensure_routes

    settings = get_settings()
    ensure_bucket(settings.content_bucket)
    connect_bucket_to_queue(settings.content_bucket, settings.bulletin_queue, "bulletins/")
    ensure_routes()


def s3():
    from chalicelib.store.clients import client

    return client("s3")


def sqs():
    from chalicelib.store.clients import client

    return client("sqs")


def new_id(prefix: str = "e") -> str:
    return f"{prefix}-{secrets.token_hex(5)}"


def article(
    article_id: str | None = None, section: str = "theory", body: str = "正文 **重点**", **extra
) -> dict:
    out = {
        "article_id": article_id or new_id("a"),
        "section": section,
        "title": f"文章 {secrets.token_hex(2)}",
        "body_markdown": body,
    }
    out.update(extra)
    return out


def edition(
    edition_id: str | None = None, kind: str = "weekly", articles: list | None = None, **extra
) -> dict:
    out = {
        "edition_id": edition_id or new_id(),
        "kind": kind,
        "title": f"第 {secrets.token_hex(2)} 期",
        "articles": articles if articles is not None else [article(), article(section="history")],
    }
    out.update(extra)
    return out


def upload(scope: str, edition_id: str, body) -> str:
    """Put a file where an editor's upload URL would; return the key."""
    key = f"bulletins/{scope}/{edition_id}.json"
    put(key, body)
    return key


def put(key: str, body) -> None:
    data = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
    s3().put_object(Bucket=get_settings().content_bucket, Key=key, Body=data)


def rejection(key: str) -> dict | None:
    from chalicelib.store.content import read_rejection

    return read_rejection(get_settings().content_bucket, f"rejections/{key}.json")


def _drain(queue_name: str) -> list[dict]:
    from chalicelib.local.pump import lambda_sqs_record

    client = sqs()
    url = client.get_queue_url(QueueName=queue_name)["QueueUrl"]
    arn = client.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    records = []
    while True:
        page = client.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=30)
        messages = page.get("Messages") or []
        if not messages:
            return records
        for message in messages:
            records.append(lambda_sqs_record(message, arn))
            client.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


def deliver_uploads(platform) -> list:
    """Hand every queued upload notification to the ingest consumer; return its answers."""
    records = _drain(get_settings().bulletin_queue)
    answers = []
    for i in range(0, len(records), 5):
        answers.append(
            platform.client.lambda_.invoke("bulletin_ingest", {"Records": records[i : i + 5]}).payload
        )
    return answers


def deliver_urgent(platform) -> list:
    """Hand every queued urgent event to the push consumer; return its answers."""
    records = _drain(get_settings().urgent_push_queue)
    return [platform.client.lambda_.invoke("urgent_push", {"Records": records}).payload] if records else []


def publish(platform, scope: str = "central", doc: dict | None = None) -> dict:
    """Upload an edition and run ingest; return the file."""
    doc = doc or edition()
    upload(scope, doc["edition_id"], doc)
    deliver_uploads(platform)
    return doc


def editor(platform, org_id: str = "central"):
    """A member holding `editor` on `org_id`: (number, token)."""
    number, token = platform.new_member()
    platform.grant(org_id, number, "editor")
    return number, token
