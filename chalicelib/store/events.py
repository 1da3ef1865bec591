"""EventBridge and SNS adapters: application events out, mobile push out.

`BulletinPublished` goes to the platform's own event bus (not the default bus, where scheduled
rules live). A rule on the bus sends urgent ones to an SQS queue whose consumer pushes them to the
scope's SNS topic (`{prefix}{scope}`, created on first use: 3,000+ departments, most never urgent).
"""

from __future__ import annotations

import contextlib
import json
from typing import Any

from chalicelib.config import get_settings
from chalicelib.store.clients import client

SOURCE = "mmp.content"
BULLETIN_PUBLISHED = "BulletinPublished"

_topic_arns: dict[str, str] = {}


class EventNotSent(RuntimeError):
    """EventBridge refused the entry (throttled, bus missing): the caller retries."""


def put_event(detail_type: str, detail: dict, source: str = SOURCE) -> str:
    """Send one event to the platform bus; return its id."""
    answer = client("events").put_events(
        Entries=[
            {
                "Source": source,
                "DetailType": detail_type,
                "Detail": json.dumps(detail, ensure_ascii=False, separators=(",", ":")),
                "EventBusName": get_settings().event_bus,
            }
        ]
    )
    entry = (answer.get("Entries") or [{}])[0]
    if answer.get("FailedEntryCount") or not entry.get("EventId"):
        raise EventNotSent(entry.get("ErrorCode") or "no event id")
    return entry["EventId"]


def topic_name(scope: str) -> str:
    return f"{get_settings().bulletin_topic_prefix}{scope}"


def topic_arn(scope: str) -> str:
    """The scope's push topic (CreateTopic is idempotent: it returns the existing one)."""
    name = topic_name(scope)
    if name not in _topic_arns:
        _topic_arns[name] = client("sns").create_topic(Name=name)["TopicArn"]
    return _topic_arns[name]


def forget_topics() -> None:
    _topic_arns.clear()


def push(scope: str, subject: str, message: dict, attributes: dict[str, str]) -> str:
    """Publish a push message to the scope's topic; return the SNS message id."""
    answer: Any = client("sns").publish(
        TopicArn=topic_arn(scope),
        Subject=subject,
        Message=json.dumps(message, ensure_ascii=False, separators=(",", ":")),
        MessageAttributes={k: {"DataType": "String", "StringValue": v} for k, v in attributes.items()},
    )
    return answer["MessageId"]


# the rule that sends urgent bulletins to the push queue (infra declares the same pattern)
URGENT_PATTERN = {
    "source": [SOURCE],
    "detail-type": [BULLETIN_PUBLISHED],
    "detail": {"kind": ["urgent"], "newly_urgent": [True]},
}


def urgent_rule_name() -> str:
    return f"{get_settings().event_bus}-urgent-push"


def ensure_routes() -> dict[str, str]:
    """The bus, the push queue and the rule between them, created when missing (local stack, tests).

    On AWS, infra declares the same. Safe to run again: nothing is duplicated.
    """
    settings = get_settings()
    bridge, sqs = client("events"), client("sqs")
    with contextlib.suppress(bridge.exceptions.ResourceAlreadyExistsException):
        bridge.create_event_bus(Name=settings.event_bus)
    url = sqs.create_queue(QueueName=settings.urgent_push_queue)["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    rule = urgent_rule_name()
    bridge.put_rule(
        Name=rule, EventBusName=settings.event_bus, EventPattern=json.dumps(URGENT_PATTERN), State="ENABLED"
    )
    bridge.put_targets(
        Rule=rule, EventBusName=settings.event_bus, Targets=[{"Id": "urgent-push-queue", "Arn": queue_arn}]
    )
    return {"event_bus": settings.event_bus, "rule": rule, "queue": settings.urgent_push_queue}
