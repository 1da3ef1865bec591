"""Bulletin uploads: S3 object-created notifications arrive on an SQS queue and are ingested here.

Why a queue and not `@app.on_s3_event`: Chalice cannot package S3 event handlers for CDK or SAM
(FACTS.md). The bucket notifies the queue `settings.bulletin_queue` for keys under `bulletins/`;
the local stack connects the same notification to the same queue, and its event pump calls this
very function. The queue gives retries and a dead-letter queue; each message is reported on its
own, so one failing upload never holds back the others.
"""

from __future__ import annotations

import json
from urllib.parse import unquote_plus

from chalice import Blueprint

from chalicelib.config import get_settings

bp = Blueprint(__name__)


@bp.on_sqs_message(queue=get_settings().bulletin_queue, batch_size=5, name="bulletin_ingest")
def on_upload(event, context=None):
    """Ingest every upload named by the messages; report the messages that failed."""
    from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
    return process_partial_response(
        event=event.to_dict(), record_handler=ingest_message, processor=processor, context=context
    )


def uploads(body: str) -> list[tuple[str, str]]:
    """(bucket, key) of every object-created record in an S3 notification; none for `s3:TestEvent`."""
    try:
        message = json.loads(body)
    except ValueError:
        return []
    if not isinstance(message, dict) or message.get("Event") == "s3:TestEvent":
        return []
    out = []
    for record in message.get("Records") or []:
        if not str(record.get("eventName", "")).startswith("ObjectCreated"):
            continue
        s3 = record.get("s3") or {}
        bucket = (s3.get("bucket") or {}).get("name")
        key = (s3.get("object") or {}).get("key")
        if bucket and key:
            # keys arrive URL-encoded (spaces as '+'; moto encodes '/' too)
            out.append((bucket, unquote_plus(key)))
    return out


def ingest_message(record) -> None:
    """One queue message: ingest each upload it names (a raise sends the message back to the queue)."""
    from chalicelib.services.bulletins import ingest

    for bucket, key in uploads(record.body):
        ingest(bucket, key)
