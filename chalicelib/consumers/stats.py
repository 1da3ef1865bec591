"""Keeps org statistics from three streams: transfers (attached, detached, inflow, outflow), members
(registrations) and virtual branches (founded, dissolved, reassigned).

Each record is applied once: a `StreamMark` goes in the same transaction as its counters. A batch is
first applied many records to a transaction with their deltas summed per item (the centre and the
provinces are hit by most records, so this saves most writes); whatever that could not apply (a
record seen before, a poison record, a throttle) goes through powertools' BatchProcessor one record
at a time, so a bad record is reported alone and never blocks or loses the others.
"""

from __future__ import annotations

import os

from chalice import Blueprint

from chalicelib.consumers.sources import stream_arn
from chalicelib.observability import logger

bp = Blueprint(__name__)


def _mark(kind: str, record) -> str:
    return f"{kind}:{record.event_id}:{os.environ.get('MMP_STAGE', 'local')}"


def _at(record) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(record.dynamodb.approximate_creation_date_time or 0, UTC).isoformat()


def _process(event, context, kind: str, deltas_of, apply_one):
    from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
    from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord

    from chalicelib.services.stats import apply_changes

    raw = event.to_dict()
    changes = []
    for data in raw.get("Records") or []:
        try:
            record = DynamoDBRecord(data)
            changes.append((_mark(kind, record), deltas_of(record)))
        except Exception:  # noqa: S112 - a record that cannot be read is reported by the slow path
            continue
    try:
        done = apply_changes(changes)
    except Exception as exc:  # the slow path retries each record and reports those that fail
        logger.warning(
            "batched stats write failed", extra={"consumer": kind, "error_type": type(exc).__name__}
        )
        done = set()

    def handler(record) -> None:
        if _mark(kind, record) not in done:
            apply_one(record)

    processor = BatchProcessor(event_type=EventType.DynamoDBStreams)
    return process_partial_response(event=raw, record_handler=handler, processor=processor, context=context)


def _transfer_deltas(record):
    from chalicelib.services.stats import transfer_deltas

    return transfer_deltas(record.dynamodb.old_image or None, record.dynamodb.new_image or None)


def _member_deltas(record):
    from chalicelib.services.stats import member_deltas

    return member_deltas(record.dynamodb.old_image or None, record.dynamodb.new_image or None, _at(record))


def _branch_deltas(record):
    from chalicelib.services.stats import virtual_branch_deltas

    return virtual_branch_deltas(
        record.dynamodb.old_image or None, record.dynamodb.new_image or None, _at(record)
    )


def count_transfer_record(record) -> None:
    from chalicelib.services.stats import apply_transfer_change

    ddb = record.dynamodb
    apply_transfer_change(_mark("transfer_stats", record), ddb.old_image or None, ddb.new_image or None)


def count_member_record(record) -> None:
    from chalicelib.services.stats import apply_member_change

    ddb = record.dynamodb
    apply_member_change(
        _mark("member_stats", record), ddb.old_image or None, ddb.new_image or None, _at(record)
    )


@bp.on_dynamodb_record(stream_arn=stream_arn("transfers"), batch_size=100, name="transfer_stats")
def on_transfer_change(event, context=None):
    """Count transfers that took or lost effect."""
    return _process(event, context, "transfer_stats", _transfer_deltas, count_transfer_record)


@bp.on_dynamodb_record(stream_arn=stream_arn("members"), batch_size=100, name="member_stats")
def on_member_change(event, context=None):
    """Count members registered (and removed)."""
    return _process(event, context, "member_stats", _member_deltas, count_member_record)


def count_branch_record(record) -> None:
    from chalicelib.services.stats import apply_virtual_branch_change

    ddb = record.dynamodb
    apply_virtual_branch_change(
        _mark("branch_stats", record), ddb.old_image or None, ddb.new_image or None, _at(record)
    )


@bp.on_dynamodb_record(stream_arn=stream_arn("virtual_branches"), batch_size=100, name="branch_stats")
def on_branch_change(event, context=None):
    """Count virtual branches founded, dissolved or moved to another supervising department."""
    return _process(event, context, "branch_stats", _branch_deltas, count_branch_record)
