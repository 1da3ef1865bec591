"""Takes the members out of a dissolved virtual branch, a page per stream record, never all at once.

Dissolving only marks the branch record (one small transaction, whatever the size). Its stream
record starts the clean-up here: each run removes one page of members and bumps `dissolve_step` on
the record, whose own stream record brings the next page, until none is left. A record delivered
twice finds its step already done and changes nothing; every other record of the table (member
counts moving, offices changing) is ignored.

A chain can still stop (a stream record lost, or dropped after its last failed delivery): every
hour `branch_dissolution_sweep` finds the dissolved branches not yet cleaned up (a Query on the
sparse `dissolving` index) and runs the step each is at, whose write starts the chain again.
"""

from __future__ import annotations

from chalice import Blueprint, Rate

from chalicelib.consumers.sources import stream_arn

bp = Blueprint(__name__)

SWEEP_SCHEDULE = Rate(1, unit=Rate.HOURS)


@bp.on_dynamodb_record(stream_arn=stream_arn("virtual_branches"), batch_size=10, name="branch_dissolution")
def on_branch_change(event, context=None):
    """Continue the clean-up of dissolved branches; report failed records so the rest go on."""
    from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

    processor = BatchProcessor(event_type=EventType.DynamoDBStreams)
    return process_partial_response(
        event=event.to_dict(), record_handler=apply_record, processor=processor, context=context
    )


def apply_record(record) -> None:
    """One stream record: a page of clean-up if it announces a new step of a dissolution."""
    step = step_to_run(record.dynamodb.old_image or {}, record.dynamodb.new_image or {})
    if step is None:
        return
    from chalicelib.services.branches import continue_dissolution

    continue_dissolution(str(record.dynamodb.new_image["org_id"]), step)


def step_to_run(old: dict, new: dict) -> int | None:
    """The dissolution step a record announces: the branch became dissolved or its step moved on."""
    if new.get("status") != "dissolved" or new.get("members_removed_at"):
        return None
    step = int(new.get("dissolve_step") or 0)
    if old.get("status") == "dissolved" and int(old.get("dissolve_step") or 0) == step:
        return None
    return step


@bp.schedule(SWEEP_SCHEDULE, name="branch_dissolution_sweep")
def sweep(event, context=None):
    """Re-kick dissolutions whose stream chain stopped: what each re-kicked branch's step did."""
    from chalicelib.services.branches import sweep_dissolutions

    return sweep_dissolutions()
