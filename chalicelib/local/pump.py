"""The local event pump: delivers stream records, queue messages and scheduled events to the app.

It calls the same Chalice handler objects Lambda would call, with events in Lambda's shapes:
DynamoDB stream records read through the Streams API (the handler's `stream_arn` is matched to a
table by the table name inside the ARN, because locally it may be a placeholder), SQS messages
(S3 uploads arrive this way: the bucket notifies a queue), and EventBridge scheduled events from
`cron(...)`/`rate(...)` expressions evaluated in UTC.

Failures follow Lambda with `ReportBatchItemFailures`: a stream batch is retried from the lowest
failed sequence number, a batch whose handler raises is split in two (as with
`BisectBatchOnFunctionError`), and a record still failing after three attempts is logged as sent
to the on-failure destination and skipped, so it never blocks the records behind it. Queue
messages are retried through the queue and given up after three receives.
"""

from __future__ import annotations

import base64
import collections
import json
import logging
import math
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from chalice.app import DynamoDBEventConfig, ScheduledEventConfig, SQSEventConfig
from chalice.local import LambdaContext

from chalicelib.config import get_settings
from chalicelib.local.cron import Cron, Rate, parse_schedule

log = logging.getLogger("mmp.local.pump")

MAX_ATTEMPTS = 3
LOCAL_ACCOUNT = "123456789012"  # moto's default account
SQS_VISIBILITY_SECONDS = 60
SHARD_DISCOVERY_SECONDS = 5.0

Handler = Callable[[dict[str, Any], Any], Any]
Clock = Callable[[], datetime]


def utcnow() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


def aws_client(service: str) -> Any:
    """A boto3 client for the configured endpoint, with account-id endpoints off (moto needs that)."""
    import boto3
    from botocore.config import Config

    settings = get_settings()
    return boto3.client(
        service,
        region_name=settings.region,
        endpoint_url=settings.aws_endpoint,
        config=Config(account_id_endpoint_mode="disabled", retries={"max_attempts": 2, "mode": "standard"}),
    )


# --- Lambda event shapes -------------------------------------------------------------------------


def table_name_from_arn(arn: str) -> str:
    """`arn:aws:dynamodb:REGION:ACCOUNT:table/NAME/stream/LABEL` -> `NAME`."""
    resource = arn.split(":", 5)[5] if arn.count(":") >= 5 else arn
    parts = resource.split("/")
    if len(parts) < 2 or parts[0] != "table":
        raise ValueError(f"not a DynamoDB table or stream ARN: {arn}")
    return parts[1]


def _attribute_json(value: Any) -> Any:
    """botocore's parsed AttributeValue -> the JSON form Lambda sends (binary as base64 text)."""
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, dict):
        return {k: _attribute_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_attribute_json(v) for v in value]
    return value


def lambda_stream_record(record: dict[str, Any], stream_arn: str) -> dict[str, Any]:
    """One record of `GetRecords` turned into a record of Lambda's DynamoDB stream event."""
    ddb = {}
    for key, value in record["dynamodb"].items():
        if key == "ApproximateCreationDateTime" and isinstance(value, datetime):
            value = int(value.timestamp())
        ddb[key] = _attribute_json(value)
    return {
        "eventID": record["eventID"],
        "eventName": record["eventName"],
        "eventVersion": record.get("eventVersion", "1.1"),
        "eventSource": "aws:dynamodb",
        "awsRegion": record.get("awsRegion") or get_settings().region,
        "dynamodb": ddb,
        "eventSourceARN": stream_arn,
    }


def lambda_sqs_record(message: dict[str, Any], queue_arn: str) -> dict[str, Any]:
    """One message of `ReceiveMessage` turned into a record of Lambda's SQS event."""
    attributes = {}
    for name, attr in (message.get("MessageAttributes") or {}).items():
        binary = attr.get("BinaryValue")
        attributes[name] = {
            "stringValue": attr.get("StringValue"),
            "binaryValue": base64.b64encode(binary).decode("ascii") if binary is not None else None,
            "stringListValues": list(attr.get("StringListValues") or []),
            "binaryListValues": [
                base64.b64encode(b).decode("ascii") for b in attr.get("BinaryListValues") or []
            ],
            "dataType": attr.get("DataType", "String"),
        }
        attributes[name] = {k: v for k, v in attributes[name].items() if v is not None}
    record = {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message.get("Body", ""),
        "attributes": dict(message.get("Attributes") or {}),
        "messageAttributes": attributes,
        "md5OfBody": message.get("MD5OfBody", ""),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": queue_arn.split(":")[3] if queue_arn.count(":") >= 5 else get_settings().region,
    }
    if message.get("MD5OfMessageAttributes"):
        record["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
    return record


def scheduled_event(rule_name: str, when: datetime) -> dict[str, Any]:
    """An EventBridge "Scheduled Event" for `rule_name`, due at `when`."""
    region = get_settings().region
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": LOCAL_ACCOUNT,
        "time": when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [f"arn:aws:events:{region}:{LOCAL_ACCOUNT}:rule/{rule_name}"],
        "detail": {},
    }


def lambda_context(function_name: str) -> LambdaContext:
    """A Lambda context like the one Lambda passes (15 minutes, 1024 MB)."""
    context = LambdaContext(function_name, memory_size=1024, max_runtime_ms=900_000)
    region = get_settings().region
    context.invoked_function_arn = f"arn:aws:lambda:{region}:{LOCAL_ACCOUNT}:function:{function_name}"
    return context


def _where(exc: BaseException) -> str:
    """Where an exception was raised, as `file:line in function` frames: no message, no data."""
    frames = traceback.extract_tb(exc.__traceback__)[-3:]
    return " <- ".join(f"{f.filename.rsplit('/', 1)[-1]}:{f.lineno} in {f.name}" for f in reversed(frames))


# --- reading a table's stream --------------------------------------------------------------------


def _forget_iterator(iterator: str) -> None:
    """Drop a used shard iterator from an in-process moto: moto keeps every one it hands out."""
    try:
        from moto.dynamodbstreams.models import dynamodbstreams_backends
    except ImportError:  # pragma: no cover - moto is a dev dependency
        return
    for account in list(dynamodbstreams_backends.values()):
        for backend in list(account.values()):
            backend.shard_iterators.pop(iterator, None)


def _describe_table(ddb: Any, name: str) -> dict[str, Any] | None:
    """The table `name` (physical, else logical through the table prefix), or None."""
    for candidate in dict.fromkeys([name, get_settings().table(name)]):
        try:
            return ddb.describe_table(TableName=candidate)["Table"]
        except ddb.exceptions.ResourceNotFoundException:
            continue
    return None


def latest_stream_arn(table_name: str) -> str:
    """The current stream ARN of a table (physical or logical name)."""
    table = _describe_table(aws_client("dynamodb"), table_name)
    if table is None or not table.get("LatestStreamArn"):
        raise LookupError(f"table {table_name} does not exist or has no stream")
    return table["LatestStreamArn"]


def _list_shards(streams: Any, stream_arn: str) -> Iterator[dict[str, Any]]:
    kwargs: dict[str, Any] = {"StreamArn": stream_arn}
    while True:
        description = streams.describe_stream(**kwargs)["StreamDescription"]
        yield from description.get("Shards", [])
        last = description.get("LastEvaluatedShardId")
        if not last:
            return
        kwargs["ExclusiveStartShardId"] = last


class StreamTail:
    """Follows a table's stream from now (or its start) and returns new records in Lambda's shape.

    For in-process tests under `mock_aws` (set `AWS_ACCOUNT_ID_ENDPOINT_MODE=disabled`): write, then
    `tail.event()` gives the event Lambda would send for what was written since the last call.
    """

    def __init__(self, table_name: str, *, from_start: bool = False) -> None:
        self.stream_arn = latest_stream_arn(table_name)
        self._streams = aws_client("dynamodbstreams")
        position = "TRIM_HORIZON" if from_start else "LATEST"
        self._iterators = {
            shard["ShardId"]: self._streams.get_shard_iterator(
                StreamArn=self.stream_arn, ShardId=shard["ShardId"], ShardIteratorType=position
            )["ShardIterator"]
            for shard in _list_shards(self._streams, self.stream_arn)
        }

    def records(self) -> list[dict[str, Any]]:
        """Every record written since the last call, in Lambda's shape."""
        out: list[dict[str, Any]] = []
        for shard_id, iterator in list(self._iterators.items()):
            while iterator:
                page = self._streams.get_records(ShardIterator=iterator, Limit=1000)
                _forget_iterator(iterator)
                iterator = page.get("NextShardIterator")
                self._iterators[shard_id] = iterator
                out.extend(lambda_stream_record(r, self.stream_arn) for r in page.get("Records", []))
                if not page.get("Records"):
                    break
        return out

    def event(self) -> dict[str, Any]:
        """One Lambda DynamoDB event holding every record written since the last call."""
        return {"Records": self.records()}


def stream_events(table_name: str, batch_size: int = 100) -> list[dict[str, Any]]:
    """Every record in a table's stream so far, as Lambda events of at most `batch_size` records."""
    records = StreamTail(table_name, from_start=True).records()
    return [{"Records": records[i : i + batch_size]} for i in range(0, len(records), batch_size)]


# --- S3 notifications ----------------------------------------------------------------------------


def ensure_queue(queue_name: str) -> tuple[str, str]:
    """Create the queue unless it exists; return (queue URL, queue ARN)."""
    sqs = aws_client("sqs")
    attributes = {"FifoQueue": "true"} if queue_name.endswith(".fifo") else {}
    try:
        url = sqs.create_queue(QueueName=queue_name, Attributes=attributes)["QueueUrl"]
    except sqs.exceptions.QueueNameExists:
        url = sqs.get_queue_url(QueueName=queue_name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, arn


def ensure_dead_letter_queue(queue_url: str, queue_name: str) -> str:
    """The queue's dead-letter queue (`{queue}-dlq`), created when missing, and the queue's redrive
    policy pointing at it, as infra declares them; returns the dead-letter queue's URL."""
    from chalicelib.config import QUEUE_MAX_RECEIVES, dead_letter_queue

    name = dead_letter_queue(queue_name.removesuffix(".fifo")) + (
        ".fifo" if queue_name.endswith(".fifo") else ""
    )
    dlq_url, dlq_arn = ensure_queue(name)
    policy = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(QUEUE_MAX_RECEIVES)})
    aws_client("sqs").set_queue_attributes(QueueUrl=queue_url, Attributes={"RedrivePolicy": policy})
    return dlq_url


def connect_bucket_to_queue(bucket: str, queue_name: str, prefix: str = "", suffix: str = "") -> str:
    """Make object-created events under `prefix` in `bucket` go to the queue; return the queue ARN.

    moto's S3 sends these notifications to SQS itself (and one `s3:TestEvent` message when the
    configuration is set, as AWS does), so the pump only has to read the queue.
    """
    _, queue_arn = ensure_queue(queue_name)
    s3 = aws_client("s3")
    current = s3.get_bucket_notification_configuration(Bucket=bucket)
    current.pop("ResponseMetadata", None)
    notification_id = f"local-{queue_name}-{prefix or 'all'}".replace("/", "_")[:64]
    rules = [{"Name": "prefix", "Value": prefix}] if prefix else []
    if suffix:
        rules.append({"Name": "suffix", "Value": suffix})
    entry: dict[str, Any] = {"Id": notification_id, "QueueArn": queue_arn, "Events": ["s3:ObjectCreated:*"]}
    if rules:
        entry["Filter"] = {"Key": {"FilterRules": rules}}
    queues = [q for q in current.get("QueueConfigurations", []) if q.get("Id") != notification_id]
    current["QueueConfigurations"] = [*queues, entry]
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration=current)
    return queue_arn


# --- the sources ---------------------------------------------------------------------------------


@dataclass
class _Outcome:
    error: str | None = None  # exception class name when the handler raised
    failed: set[str] | None = None  # identifiers reported in batchItemFailures
    malformed: bool = False  # a batchItemFailures entry without a usable identifier
    result: Any = None

    @property
    def ok(self) -> bool:
        return self.error is None and not self.failed and not self.malformed


class _Source:
    kind = ""
    long_polls = False

    def __init__(self, pump: Pump, config: Any, handler: Handler) -> None:
        self.pump = pump
        self.config = config
        self.name: str = config.name
        self.handler = handler
        self.function_name = f"{pump.app_name}-local-{config.name}"
        self.lock = threading.Lock()

    def poll(self, wait_seconds: int = 0) -> int:
        """Deliver what is due; return how many handler invocations that took."""
        raise NotImplementedError

    def pending(self) -> bool:
        """Whether records already read wait for delivery or a retry."""
        return False

    def invoke(self, event: dict[str, Any]) -> _Outcome:
        """Call the handler like Lambda; report what it said, never raise."""
        try:
            result = self.handler(event, lambda_context(self.function_name))
        except Exception as exc:  # a consumer bug must not stop the pump
            log.warning("consumer %s raised %s at %s", self.name, type(exc).__name__, _where(exc))
            return _Outcome(error=type(exc).__name__)
        outcome = _Outcome(result=result)
        if isinstance(result, dict) and result.get("batchItemFailures"):
            outcome.failed = set()
            for item in result["batchItemFailures"]:
                identifier = item.get("itemIdentifier") if isinstance(item, dict) else None
                if not identifier:
                    outcome.malformed = True
                else:
                    outcome.failed.add(str(identifier))
            log.info("consumer %s reported %d failed item(s)", self.name, len(outcome.failed))
        return outcome


@dataclass
class _Shard:
    shard_id: str
    iterator: str | None
    limit: int
    buffer: list[dict[str, Any]] = field(default_factory=list)
    failing_sequence: str | None = None
    attempts: int = 0
    not_before: float = 0.0

    def settle(self, batch_size: int) -> None:
        self.limit = batch_size
        self.failing_sequence = None
        self.attempts = 0


class StreamSource(_Source):
    """A DynamoDB stream consumer (`@app.on_dynamodb_record`)."""

    kind = "dynamodb"

    def __init__(self, pump: Pump, config: DynamoDBEventConfig, handler: Handler) -> None:
        super().__init__(pump, config, handler)
        self.table_name = table_name_from_arn(config.stream_arn)
        self.batch_size = max(1, min(int(config.batch_size or 100), 1000))
        self.stream_arn: str | None = None
        self.shards: dict[str, _Shard] = {}
        self._finished: set[str] = set()  # closed shards read to their end
        self._next_discovery = 0.0
        self._warned = False

    def _resolve(self) -> bool:
        table = _describe_table(self.pump.client("dynamodb"), self.table_name)
        if table is None or not table.get("LatestStreamArn"):
            if not self._warned:
                log.warning("consumer %s: table %s has no stream yet", self.name, self.table_name)
                self._warned = True
            return False
        self.table_name = table["TableName"]
        self.stream_arn = table["LatestStreamArn"]
        return True

    def _discover(self) -> None:
        streams = self.pump.client("dynamodbstreams")
        for shard in _list_shards(streams, self.stream_arn):
            if shard["ShardId"] in self.shards or shard["ShardId"] in self._finished:
                continue
            iterator = streams.get_shard_iterator(
                StreamArn=self.stream_arn,
                ShardId=shard["ShardId"],
                ShardIteratorType=self.pump.starting_position,
            )["ShardIterator"]
            self.shards[shard["ShardId"]] = _Shard(shard["ShardId"], iterator, self.batch_size)

    def pending(self) -> bool:
        return any(shard.buffer for shard in self.shards.values())

    def poll(self, wait_seconds: int = 0) -> int:
        with self.lock:
            if self.stream_arn is None and not self._resolve():
                return 0
            now = time.monotonic()
            if now >= self._next_discovery:
                self._discover()
                self._next_discovery = now + SHARD_DISCOVERY_SECONDS
            invocations = 0
            for shard in list(self.shards.values()):
                invocations += self._poll_shard(shard)
                if shard.iterator is None and not shard.buffer:
                    del self.shards[shard.shard_id]
                    self._finished.add(shard.shard_id)
            return invocations

    def _poll_shard(self, shard: _Shard) -> int:
        if time.monotonic() < shard.not_before:
            return 0
        if shard.iterator and len(shard.buffer) < self.batch_size:
            streams = self.pump.client("dynamodbstreams")
            page = streams.get_records(
                ShardIterator=shard.iterator, Limit=self.batch_size - len(shard.buffer)
            )
            _forget_iterator(shard.iterator)
            shard.iterator = page.get("NextShardIterator")
            shard.buffer.extend(page.get("Records", []))
        if not shard.buffer:
            return 0
        batch = shard.buffer[: shard.limit]
        outcome = self.invoke({"Records": [lambda_stream_record(r, self.stream_arn) for r in batch]})
        if outcome.ok:
            del shard.buffer[: len(batch)]
            shard.settle(self.batch_size)
            return 1
        sequences = [r["dynamodb"]["SequenceNumber"] for r in batch]
        done = 0
        if outcome.error is not None and len(batch) > 1:
            shard.limit = max(1, len(batch) // 2)  # split the batch, as BisectBatchOnFunctionError does
            return 1
        if outcome.error is None and not outcome.malformed and outcome.failed <= set(sequences):
            done = min(sequences.index(s) for s in outcome.failed)  # the checkpoint Lambda keeps
        del shard.buffer[:done]
        head = shard.buffer[0]["dynamodb"]["SequenceNumber"]
        if head == shard.failing_sequence:
            shard.attempts += 1
        else:
            shard.failing_sequence, shard.attempts = head, 1
        if shard.attempts >= self.pump.max_attempts:
            record = shard.buffer.pop(0)
            self.pump.on_failure(
                self,
                identifier=head,
                event_id=record.get("eventID"),
                attempts=shard.attempts,
                reason=outcome.error or "batchItemFailures",
            )
            shard.settle(self.batch_size)
        else:
            shard.not_before = time.monotonic() + self.pump.retry_delay
        return 1


class QueueSource(_Source):
    """An SQS consumer (`@app.on_sqs_message`); the queue is created when missing."""

    kind = "sqs"
    long_polls = True

    def __init__(self, pump: Pump, config: SQSEventConfig, handler: Handler) -> None:
        super().__init__(pump, config, handler)
        self.queue_name = config.queue or str(config.queue_arn).rsplit(":", 1)[-1]
        self.batch_size = max(1, int(config.batch_size or 10))
        self.queue_url: str | None = None
        self.queue_arn = ""
        self.dead_letter_url = ""

    def poll(self, wait_seconds: int = 0) -> int:
        with self.lock:
            if self.queue_url is None:
                self.queue_url, self.queue_arn = ensure_queue(self.queue_name)
                self.dead_letter_url = ensure_dead_letter_queue(self.queue_url, self.queue_name)
            sqs = self.pump.client("sqs")
            messages: list[dict[str, Any]] = []
            while len(messages) < self.batch_size:
                page = sqs.receive_message(
                    QueueUrl=self.queue_url,
                    MaxNumberOfMessages=min(10, self.batch_size - len(messages)),
                    WaitTimeSeconds=0 if messages else wait_seconds,
                    VisibilityTimeout=SQS_VISIBILITY_SECONDS,
                    MessageSystemAttributeNames=["All"],
                    MessageAttributeNames=["All"],
                )
                if not page.get("Messages"):
                    break
                messages.extend(page["Messages"])
            if not messages:
                return 0
            outcome = self.invoke({"Records": [lambda_sqs_record(m, self.queue_arn) for m in messages]})
            ids = {m["MessageId"] for m in messages}
            if outcome.ok:
                failed: set[str] = set()
            elif outcome.error or outcome.malformed or not outcome.failed <= ids:
                failed = ids  # Lambda treats a raise or an unusable response as the whole batch failing
            else:
                failed = set(outcome.failed)
            done = [m for m in messages if m["MessageId"] not in failed]
            for message in messages:
                if message["MessageId"] not in failed:
                    continue
                receives = int((message.get("Attributes") or {}).get("ApproximateReceiveCount", "1"))
                if receives >= self.pump.max_receives:
                    # what SQS's redrive does: the message moves to the dead-letter queue, whole
                    sqs.send_message(
                        QueueUrl=self.dead_letter_url,
                        MessageBody=message["Body"],
                        MessageAttributes=message.get("MessageAttributes") or {},
                    )
                    self.pump.on_failure(
                        self,
                        identifier=message["MessageId"],
                        attempts=receives,
                        reason=outcome.error or "batchItemFailures",
                        dead_letter_queue=self.dead_letter_url.rsplit("/", 1)[-1],
                    )
                    done.append(message)
                else:
                    sqs.change_message_visibility(
                        QueueUrl=self.queue_url,
                        ReceiptHandle=message["ReceiptHandle"],
                        VisibilityTimeout=math.ceil(self.pump.retry_delay),
                    )
            for i in range(0, len(done), 10):
                sqs.delete_message_batch(
                    QueueUrl=self.queue_url,
                    Entries=[
                        {"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]}
                        for n, m in enumerate(done[i : i + 10])
                    ],
                )
            return 1


class ScheduleSource(_Source):
    """A scheduled consumer (`@app.schedule`), fired when its expression comes due."""

    kind = "schedule"

    def __init__(self, pump: Pump, config: ScheduledEventConfig, handler: Handler) -> None:
        super().__init__(pump, config, handler)
        expression = config.schedule_expression
        self.expression = expression if isinstance(expression, str) else expression.to_string()
        now = pump.clock()
        self.schedule: Cron | Rate = parse_schedule(self.expression, anchor=now)
        self.next_due: datetime | None = self.schedule.next_after(now)

    def poll(self, wait_seconds: int = 0) -> int:
        with self.lock:
            now = self.pump.clock()
            if self.next_due is None or now < self.next_due:
                return 0
            due = self.next_due
            # EventBridge does not catch up on missed times: the next one after now
            self.next_due = self.schedule.next_after(now)
            self.deliver(due)
            return 1

    def deliver(self, when: datetime) -> None:
        """Invoke asynchronously as EventBridge does: up to three attempts, then the on-failure log."""
        event = scheduled_event(self.function_name, when)
        for attempt in range(1, self.pump.max_attempts + 1):
            outcome = self.invoke(event)
            if outcome.error is None:
                return
            if attempt < self.pump.max_attempts and self.pump.sleep(self.pump.retry_delay):
                return  # stopping
        self.pump.on_failure(
            self, identifier=event["id"], attempts=self.pump.max_attempts, reason=outcome.error
        )


# --- the pump ------------------------------------------------------------------------------------


def handler_for(app: Any, name: str) -> Handler:
    """The callable Lambda would invoke for the event handler registered as `name`."""
    return app.handler_map[name]


def fire_schedule(app: Any, name: str, when: datetime | None = None) -> Any:
    """Invoke the scheduled handler `name` once, now; return what it returns, raise what it raises."""
    configs = [s for s in app.event_sources if isinstance(s, ScheduledEventConfig)]
    config = next((c for c in configs if c.name == name), None)
    if config is None:
        known = ", ".join(sorted(c.name for c in configs)) or "none"
        raise KeyError(f"no scheduled handler {name!r} (known: {known})")
    function_name = f"{app.app_name}-local-{name}"
    event = scheduled_event(function_name, when or utcnow())
    return handler_for(app, name)(event, lambda_context(function_name))


class Pump:
    """Delivers events to every stream, queue and schedule handler of a Chalice app."""

    def __init__(
        self,
        app: Any,
        *,
        poll_interval: float = 0.1,
        max_idle: float = 0.5,
        retry_delay: float = 1.0,
        max_attempts: int = MAX_ATTEMPTS,
        max_receives: int | None = None,
        starting_position: str = "TRIM_HORIZON",
        sqs_wait_seconds: int = 1,
        clock: Clock = utcnow,
    ) -> None:
        self.app = app
        self.app_name = getattr(app, "app_name", "app")
        self.poll_interval = poll_interval
        self.max_idle = max_idle
        self.retry_delay = retry_delay
        self.max_attempts = max_attempts  # stream records and schedules, before the on-failure record
        # queue messages, before the dead-letter queue: as deployed unless a test says otherwise
        if max_receives is None:
            from chalicelib.config import QUEUE_MAX_RECEIVES

            max_receives = QUEUE_MAX_RECEIVES
        self.max_receives = max_receives
        # the event source mappings exist before any data locally too: read what bootstrap wrote
        self.starting_position = starting_position
        self.sqs_wait_seconds = sqs_wait_seconds
        self.clock = clock
        self.failures: collections.deque[dict[str, Any]] = collections.deque(maxlen=1000)
        self._clients: dict[str, Any] = {}
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.sources: list[_Source] = []
        for config in app.event_sources:
            if isinstance(config, DynamoDBEventConfig):
                kind: type[_Source] = StreamSource
            elif isinstance(config, SQSEventConfig):
                kind = QueueSource
            elif isinstance(config, ScheduledEventConfig):
                kind = ScheduleSource
            else:
                log.info("event source %s (%s) is not delivered locally", config.name, type(config).__name__)
                continue
            try:
                self.sources.append(kind(self, config, handler_for(app, config.name)))
            except (ValueError, KeyError) as exc:
                log.error("event source %s cannot be delivered locally: %s", config.name, exc)

    def client(self, service: str) -> Any:
        """A client shared by the sources (botocore clients are thread-safe)."""
        if service not in self._clients:
            self._clients[service] = aws_client(service)
        return self._clients[service]

    def source(self, name: str) -> _Source:
        """The source of the handler registered as `name`."""
        for source in self.sources:
            if source.name == name:
                return source
        raise KeyError(name)

    def on_failure(self, source: _Source, **details: Any) -> None:
        """Record and log an event given up on, as Lambda's on-failure destination would receive it."""
        entry = {"source": source.kind, "handler": source.name, **details}
        self.failures.append(entry)
        log.error(
            "sent to on-failure destination: %s",
            " ".join(f"{k}={v}" for k, v in entry.items() if v is not None),
        )

    def sleep(self, seconds: float) -> bool:
        """Wait, waking early when stopping; True when the pump is stopping."""
        return self._stop.wait(seconds) if seconds > 0 else self._stop.is_set()

    # synchronous use, for tests and the CLI

    def poll_once(self) -> int:
        """One pass over every source without long polling; return the handler invocations made."""
        return sum(source.poll(0) for source in self.sources)

    def drain(self, timeout: float = 10.0) -> int:
        """Poll until a pass finds nothing to deliver (or `timeout` passes); return the invocations."""
        total = 0
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            made = self.poll_once()
            total += made
            if not made and not any(s.pending() for s in self.sources):
                return total
            if not made:
                time.sleep(0.02)
        raise TimeoutError(f"the pump was still busy after {timeout} s")

    def fire_schedule(self, name: str) -> Any:
        """Invoke the scheduled handler `name` once, now, and return its result."""
        return fire_schedule(self.app, name, self.clock())

    # background use, for the local stack

    def start(self) -> None:
        """Start one daemon thread per source."""
        self._stop.clear()
        for source in self.sources:
            thread = threading.Thread(
                target=self._run, args=(source,), name=f"pump-{source.name}", daemon=True
            )
            thread.start()
            self._threads.append(thread)
        log.info("event pump started with %d source(s)", len(self.sources))

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the threads and wait for them (a handler still running is left to finish)."""
        self._stop.set()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
            if thread.is_alive():
                log.warning("pump thread %s did not stop in time", thread.name)
        self._threads = []

    def _run(self, source: _Source) -> None:
        idle = self.poll_interval
        while not self._stop.is_set():
            try:
                made = source.poll(self.sqs_wait_seconds)
            except Exception as exc:  # moto going away at shutdown, a queue not there yet, ...
                if not self._stop.is_set():
                    log.warning(
                        "pump source %s failed: %s at %s", source.name, type(exc).__name__, _where(exc)
                    )
                    self._stop.wait(self.max_idle)
                continue
            if made:
                idle = self.poll_interval
            elif not (source.long_polls and self.sqs_wait_seconds > 0):  # a long poll has waited already
                self._stop.wait(idle)
                idle = min(idle * 2, self.max_idle)
