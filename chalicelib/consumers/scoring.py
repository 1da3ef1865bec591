"""Scores activities from the activity table's stream into members' month tallies.

The batch is scored as a whole (one read of every member-month it touches, one write for each that
changed), then powertools' BatchProcessor reports the records whose member-month could not be
written, or that are malformed, as partial batch failures: Lambda retries from the first of them,
and records applied before are recognised and skipped, so nothing counts twice.
"""

from __future__ import annotations

from chalice import Blueprint

from chalicelib.consumers.sources import stream_arn

bp = Blueprint(__name__)


@bp.on_dynamodb_record(stream_arn=stream_arn("activity"), batch_size=100, name="participation_scoring")
def on_activity(event, context=None):
    """Score a batch of new activity items; report the failed ones."""
    from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

    raw = event.to_dict()
    failures = score(raw.get("Records") or [])

    def record_handler(record) -> None:
        error = failures.get(record.dynamodb.sequence_number)
        if error is not None:
            raise error

    processor = BatchProcessor(event_type=EventType.DynamoDBStreams)
    return process_partial_response(
        event=raw, record_handler=record_handler, processor=processor, context=context
    )


def score(records: list[dict]) -> dict[str, Exception]:
    """{sequence number: error} for the records of this batch that were not scored."""
    from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord

    from chalicelib.domain.scoring import activity_from_image
    from chalicelib.services.scoring import score_activities

    failures: dict[str, Exception] = {}
    activities = []
    for raw in records:
        record = DynamoDBRecord(raw)
        key = record.dynamodb.sequence_number if record.dynamodb else None
        if record.event_name is None or record.event_name.name != "INSERT":
            continue  # expiry (REMOVE) and rewrites change nothing that was counted
        try:
            activities.append((key, activity_from_image(record.dynamodb.new_image or {})))
        except Exception as exc:  # a poison record: reported alone, never scored
            failures[key] = ValueError(f"malformed activity record ({type(exc).__name__})")
    failures.update(score_activities(activities))
    return failures
