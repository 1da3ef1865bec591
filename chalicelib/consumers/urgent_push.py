"""Urgent bulletins go out at once: `BulletinPublished` events to the scope's SNS topic.

Ingest sends `BulletinPublished` to the platform's EventBridge bus. A rule on that bus matches the
urgent ones that just became urgent (`detail.kind = urgent`, `detail.newly_urgent = true`) and
targets the SQS queue `settings.urgent_push_queue`, read here. Why not a rule targeting this
function directly: moto's `put_events` fails when a rule targets a Lambda function, and a queue
gives retries and a dead-letter queue anyway; the same function runs in Lambda and in the local
event pump (`store.events.URGENT_PATTERN` is the rule's pattern). Each edition revision is pushed
at most once (a mark claimed before publishing).
"""

from __future__ import annotations

import json

from chalice import Blueprint

from chalicelib.config import get_settings

bp = Blueprint(__name__)


@bp.on_sqs_message(queue=get_settings().urgent_push_queue, batch_size=10, name="urgent_push")
def on_urgent(event, context=None):
    """Push each urgent bulletin to its scope's topic; report the messages that failed."""
    from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
    return process_partial_response(
        event=event.to_dict(), record_handler=push_message, processor=processor, context=context
    )


def push_message(record) -> None:
    """One EventBridge event delivered through SQS."""
    from chalicelib.services.bulletins import push_bulletin

    try:
        event = json.loads(record.body)
    except ValueError:
        return  # not an event: nothing to push, and retrying would not change that
    if not isinstance(event, dict) or event.get("detail-type") != "BulletinPublished":
        return
    push_bulletin(event.get("detail") or {})
