"""Files every transfer the moment it takes effect, from the transfers table's stream.

One item per org on either side (branches, counties, cities, provinces, the centre), keyed so each
lists its month with one Query. Writing is idempotent by construction (fixed keys and contents). A
batch's items are written together (BatchWriteItem, 25 a call); if that fails, each record is filed
on its own through powertools' BatchProcessor, so a bad record is reported alone and retried,
never blocking or losing the others.
"""

from __future__ import annotations

from chalice import Blueprint

from chalicelib.consumers.sources import stream_arn
from chalicelib.observability import logger

bp = Blueprint(__name__)


def _filed_at(record) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(record.dynamodb.approximate_creation_date_time or 0, UTC).isoformat()


@bp.on_dynamodb_record(stream_arn=stream_arn("transfers"), batch_size=100, name="transfer_filing")
def on_transfer_change(event, context=None):
    """File transfers that took effect; report failed records so the rest go on."""
    from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
    from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord

    from chalicelib.services.filings import file_items, filing_items

    raw = event.to_dict()
    done: set[str] = set()
    items: list[dict] = []
    for data in raw.get("Records") or []:
        try:
            record = DynamoDBRecord(data)
            items += filing_items(
                record.dynamodb.old_image or None, record.dynamodb.new_image or None, _filed_at(record)
            )
            done.add(record.event_id)
        except Exception:  # noqa: S112 - a record that cannot be read is reported by the slow path
            continue
    try:
        file_items(items)
    except Exception as exc:  # the slow path files each record and reports those that fail
        logger.warning("batched filing failed", extra={"error_type": type(exc).__name__})
        done = set()

    def handler(record) -> None:
        if record.event_id not in done:
            file_record(record)

    processor = BatchProcessor(event_type=EventType.DynamoDBStreams)
    return process_partial_response(event=raw, record_handler=handler, processor=processor, context=context)


def file_record(record) -> None:
    """One stream record: a filing item per org on either side if the transfer just took effect."""
    from chalicelib.services.filings import file_transfer_change

    ddb = record.dynamodb
    file_transfer_change(ddb.old_image or None, ddb.new_image or None, _filed_at(record))
