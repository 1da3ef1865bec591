"""Keeps department member counts from the members table's stream.

A branch's own count changes in the same transaction as the member; the departments above it
(county up to the centre) are hit by every registration in their subtree, so they are counted here,
off the request path, once per stream record (a redelivered record changes nothing).
"""

from __future__ import annotations

import os

from chalice import Blueprint

from chalicelib.consumers.sources import stream_arn

bp = Blueprint(__name__)


@bp.on_dynamodb_record(stream_arn=stream_arn("members"), batch_size=100, name="org_member_counts")
def on_member_change(event, context=None):
    """Apply member-count changes to departments; report failed records so the rest go on."""
    from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

    processor = BatchProcessor(event_type=EventType.DynamoDBStreams)
    return process_partial_response(
        event=event.to_dict(), record_handler=apply_record, processor=processor, context=context
    )


def apply_record(record) -> None:
    """One stream record: the departments that gained or lost a member."""
    from chalicelib.services.counts import apply_member_change

    ddb = record.dynamodb
    old = ddb.old_image or {}
    new = ddb.new_image or {}
    mark = f"members:{record.event_id}:{os.environ.get('MMP_STAGE', 'local')}"
    apply_member_change(mark, _path(old), _path(new))


def _path(image: dict) -> list[str] | None:
    path = image.get("home_path")
    return [str(p) for p in path] if path else None
