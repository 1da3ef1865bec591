"""The monthly participation filing: the EventBridge schedule and the per-department job queue.

EventBridge cron runs in UTC. 00:30 on the 1st in Asia/Shanghai (UTC+8, no daylight saving) is 16:30
UTC on the last day of the month before, `cron(30 16 L * ? *)`; the month filed is the one before the
firing's Asia/Shanghai date, computed from the event's own time, so a late or repeated delivery
files the same month.
"""

from __future__ import annotations

import json

from chalice import Blueprint, Cron

from chalicelib.config import get_settings

bp = Blueprint(__name__)

SCHEDULE = Cron(30, 16, "L", "*", "?", "*")
FANOUT = 50  # jobs running at once: the SQS event source's maximum concurrency


@bp.schedule(SCHEDULE, name="participation_filing_schedule", description="Monthly participation filing")
def on_schedule(event):
    """Start filing the month before: one job per department on the filing queue."""
    from chalicelib.services.monthly_filing import schedule_month, start

    return start(schedule_month(event.time), requested_by="schedule")


@bp.on_sqs_message(
    queue=get_settings().participation_filing_queue,
    batch_size=1,
    name="participation_filing_jobs",
    maximum_concurrency=FANOUT,
)
def on_job(event, context=None):
    """File one department (or resume one); a failed job is retried by SQS, then dead-lettered."""
    from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

    from chalicelib.services.monthly_filing import process_job

    remaining = getattr(context, "get_remaining_time_in_millis", None)

    def record_handler(record) -> str:
        return process_job(json.loads(record.body), remaining)

    processor = BatchProcessor(event_type=EventType.SQS)
    return process_partial_response(
        event=event.to_dict(), record_handler=record_handler, processor=processor, context=context
    )
