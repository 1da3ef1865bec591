"""The local event pump delivers stream records, queue messages and scheduled events like Lambda."""

from __future__ import annotations

import json
import logging
import time
import uuid
from datetime import UTC, datetime
from urllib.parse import unquote_plus

import boto3
import pytest
from chalice import Chalice
from chalice.test import Client

from chalicelib.local import pump as pump_module
from chalicelib.local.pump import Pump, StreamTail, connect_bucket_to_queue, stream_events

REGION = "us-east-1"


@pytest.fixture
def aws(aws):
    """The session's moto (a nested `mock_aws` would reset every backend the other tests share)."""
    yield


def create_table(name):
    ddb = boto3.client("dynamodb", region_name=REGION)
    ddb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    return ddb


class TestApp:
    """A tiny Chalice app with a stream, a queue and a schedule consumer, and what they saw."""

    __test__ = False

    def __init__(self, batch_size=3, sqs_batch_size=10):
        suffix = uuid.uuid4().hex[:10]
        self.table = f"pump-{suffix}"
        self.queue = f"pump-q-{suffix}"
        self.ddb = create_table(self.table)
        self.batches = []  # each delivered stream event
        self.done = []  # keys handled successfully, in order
        self.fail_once = set()
        self.poison = set()
        self.explode = set()  # keys that make the handler raise
        self.messages = []
        self.sqs_done = []
        self.scheduled = []
        app = Chalice(app_name=f"pumptest{suffix}")
        placeholder = f"arn:aws:dynamodb:{REGION}:000000000000:table/{self.table}/stream/local"

        @app.on_dynamodb_record(stream_arn=placeholder, batch_size=batch_size, name="records")
        def records(event):
            raw = event.to_dict()
            self.batches.append(raw)
            keys = [r["dynamodb"]["Keys"]["k"]["S"] for r in raw["Records"]]
            if self.explode & set(keys):
                raise RuntimeError("boom")
            failures = []
            for record, key in zip(raw["Records"], keys, strict=True):
                if key in self.poison or key in self.fail_once:
                    self.fail_once.discard(key)
                    failures.append({"itemIdentifier": record["dynamodb"]["SequenceNumber"]})
                elif not failures:
                    self.done.append(key)
            return {"batchItemFailures": failures}

        @app.on_sqs_message(queue=self.queue, batch_size=sqs_batch_size, name="uploads")
        def uploads(event):
            raw = event.to_dict()
            failures = []
            for record in raw["Records"]:
                self.messages.append(record)
                if record["body"] in self.poison or record["body"] in self.fail_once:
                    self.fail_once.discard(record["body"])
                    failures.append({"itemIdentifier": record["messageId"]})
                else:
                    self.sqs_done.append(record["body"])
            return {"batchItemFailures": failures}

        @app.schedule("cron(30 16 1 * ? *)", name="monthly")
        def monthly(event):
            self.scheduled.append(event.to_dict())
            return {"filed": True}

        self.app = app

    def put(self, *keys, **extra):
        for key in keys:
            item = {"k": {"S": key}}
            item.update(extra)
            self.ddb.put_item(TableName=self.table, Item=item)


class FakeClock:
    def __init__(self, now):
        self.now = now

    def __call__(self):
        return self.now


def test_stream_records_reach_the_handler_in_lambda_shape_and_batch_size(aws):
    t = TestApp(batch_size=3)
    pump = Pump(t.app, retry_delay=0)
    t.put("a", "b", "c", "d", "e", blob={"B": b"\x00\x01"})

    pump.drain()

    assert [len(b["Records"]) for b in t.batches] == [3, 2]
    assert t.done == ["a", "b", "c", "d", "e"]
    stream_arn = t.ddb.describe_table(TableName=t.table)["Table"]["LatestStreamArn"]
    record = t.batches[0]["Records"][0]
    assert list(record) == [
        "eventID",
        "eventName",
        "eventVersion",
        "eventSource",
        "awsRegion",
        "dynamodb",
        "eventSourceARN",
    ]
    assert record["eventName"] == "INSERT"
    assert record["eventSource"] == "aws:dynamodb"
    assert record["eventSourceARN"] == stream_arn
    assert record["awsRegion"] == REGION
    ddb = record["dynamodb"]
    assert isinstance(ddb["ApproximateCreationDateTime"], int)
    assert abs(ddb["ApproximateCreationDateTime"] - time.time()) < 120
    assert ddb["Keys"] == {"k": {"S": "a"}}
    assert ddb["NewImage"] == {"k": {"S": "a"}, "blob": {"B": "AAE="}}
    assert ddb["StreamViewType"] == "NEW_AND_OLD_IMAGES"
    json.dumps(t.batches)  # what Lambda sends is plain JSON


def test_a_record_reported_failed_is_redelivered_and_later_ones_are_not_lost(aws):
    t = TestApp(batch_size=3)
    t.fail_once.add("b")
    pump = Pump(t.app, retry_delay=0)
    t.put("a", "b", "c", "d", "e")

    pump.drain()

    delivered = [[r["dynamodb"]["Keys"]["k"]["S"] for r in b["Records"]] for b in t.batches]
    assert delivered[0] == ["a", "b", "c"]
    assert delivered[1][0] == "b"  # redelivered from the lowest failed sequence number
    assert t.done == ["a", "b", "c", "d", "e"]
    assert list(pump.failures) == []


def test_a_poison_record_goes_to_on_failure_after_three_attempts_and_does_not_block(aws, caplog):
    t = TestApp(batch_size=2)
    t.poison.add("bad")
    pump = Pump(t.app, retry_delay=0)
    t.put("a", "bad", "c", "d", name={"S": "张三"})

    with caplog.at_level(logging.INFO, logger="mmp.local.pump"):
        pump.drain()

    attempts = sum(1 for b in t.batches for r in b["Records"] if r["dynamodb"]["Keys"]["k"]["S"] == "bad")
    assert attempts == 3
    assert t.done == ["a", "c", "d"]
    [failure] = pump.failures
    assert failure["source"] == "dynamodb"
    assert failure["handler"] == "records"
    assert failure["attempts"] == 3
    bad_seq = next(
        r["dynamodb"]["SequenceNumber"]
        for b in t.batches
        for r in b["Records"]
        if r["dynamodb"]["Keys"]["k"]["S"] == "bad"
    )
    assert failure["identifier"] == bad_seq
    assert "sent to on-failure destination" in caplog.text
    assert "张三" not in caplog.text


def test_a_handler_that_raises_has_its_batch_split_until_the_bad_record_is_alone(aws, caplog):
    t = TestApp(batch_size=4)
    t.explode.add("boom")
    pump = Pump(t.app, retry_delay=0)
    t.put("a", "b", "boom", "c", "d", "e")

    with caplog.at_level(logging.WARNING, logger="mmp.local.pump"):
        pump.drain()

    assert t.done == ["a", "b", "c", "d", "e"]
    [failure] = pump.failures
    assert failure["reason"] == "RuntimeError"
    alone = [b for b in t.batches if [r["dynamodb"]["Keys"]["k"]["S"] for r in b["Records"]] == ["boom"]]
    assert len(alone) == 3
    assert "consumer records raised RuntimeError" in caplog.text


def test_an_s3_upload_under_the_prefix_reaches_the_queue_handler(aws):
    t = TestApp()
    bucket = f"content-{uuid.uuid4().hex[:8]}"
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket=bucket)
    pump = Pump(t.app, retry_delay=0)
    queue_arn = connect_bucket_to_queue(bucket, t.queue, "bulletins/")

    s3.put_object(Bucket=bucket, Key="bulletins/central/e1.json", Body=b"{}")
    s3.put_object(Bucket=bucket, Key="rejections/bulletins/central/e1.json.json", Body=b"{}")
    pump.drain()

    bodies = [json.loads(m["body"]) for m in t.messages]
    uploads = [b["Records"][0] for b in bodies if "Records" in b]
    # keys arrive URL-encoded, as from AWS (moto encodes "/" too): consumers must unquote_plus them
    assert [unquote_plus(u["s3"]["object"]["key"]) for u in uploads] == ["bulletins/central/e1.json"]
    assert uploads[0]["eventName"].startswith("ObjectCreated:")
    assert uploads[0]["s3"]["bucket"]["name"] == bucket
    message = t.messages[0]
    assert message["eventSource"] == "aws:sqs"
    assert message["eventSourceARN"] == queue_arn
    assert message["awsRegion"] == REGION
    expected = {"messageId", "receiptHandle", "body", "attributes", "messageAttributes", "md5OfBody"}
    assert expected <= set(message)
    assert message["attributes"]["ApproximateReceiveCount"] == "1"
    sqs = boto3.client("sqs", region_name=REGION)
    url = sqs.get_queue_url(QueueName=t.queue)["QueueUrl"]
    assert "Messages" not in sqs.receive_message(QueueUrl=url, VisibilityTimeout=0)  # handled ones deleted


def test_queue_messages_reported_failed_are_retried_and_poison_goes_to_the_dead_letter_queue(aws):
    from chalicelib.config import QUEUE_MAX_RECEIVES

    t = TestApp()
    t.fail_once.add("retry-me")
    t.poison.add("poison")
    pump = Pump(t.app, retry_delay=0)
    pump.poll_once()  # creates the queue and its dead-letter queue
    sqs = boto3.client("sqs", region_name=REGION)
    url = sqs.get_queue_url(QueueName=t.queue)["QueueUrl"]
    dlq = sqs.get_queue_url(QueueName=f"{t.queue}-dlq")["QueueUrl"]
    redrive = json.loads(
        sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]["RedrivePolicy"]
    )
    assert int(redrive["maxReceiveCount"]) == QUEUE_MAX_RECEIVES and redrive["deadLetterTargetArn"].endswith(
        "-dlq"
    )
    for body in ("one", "retry-me", "poison", "two"):
        sqs.send_message(QueueUrl=url, MessageBody=body)

    pump.drain()

    assert sorted(t.sqs_done) == ["one", "retry-me", "two"]
    assert sum(1 for m in t.messages if m["body"] == "poison") == QUEUE_MAX_RECEIVES
    [failure] = pump.failures
    assert failure["source"] == "sqs" and failure["dead_letter_queue"] == f"{t.queue}-dlq"
    assert failure["attempts"] == QUEUE_MAX_RECEIVES
    assert "Messages" not in sqs.receive_message(QueueUrl=url, VisibilityTimeout=0)
    [dead] = sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10)["Messages"]
    assert dead["Body"] == "poison"


def test_a_schedule_fires_when_due_once_and_on_demand(aws):
    t = TestApp()
    clock = FakeClock(datetime(2026, 11, 30, 16, 0, tzinfo=UTC))
    pump = Pump(t.app, retry_delay=0, clock=clock)

    pump.poll_once()
    assert t.scheduled == []

    clock.now = datetime(2026, 12, 1, 16, 30, 5, tzinfo=UTC)
    pump.poll_once()
    pump.poll_once()
    [event] = t.scheduled
    assert event["detail-type"] == "Scheduled Event"
    assert event["source"] == "aws.events"
    assert event["time"] == "2026-12-01T16:30:00Z"
    assert event["resources"][0].startswith(f"arn:aws:events:{REGION}:")
    assert event["detail"] == {}

    assert pump.fire_schedule("monthly") == {"filed": True}
    assert t.scheduled[-1]["time"] == "2026-12-01T16:30:05Z"
    with pytest.raises(KeyError):
        pump.fire_schedule("nope")


def test_a_failing_schedule_is_tried_three_times_then_sent_to_on_failure(aws):
    app = Chalice(app_name="pumptestrate")
    calls = []

    @app.schedule("rate(5 minutes)", name="every5")
    def every5(event):
        calls.append(event.to_dict())
        raise ValueError("nope")

    clock = FakeClock(datetime(2026, 1, 1, tzinfo=UTC))
    pump = Pump(app, retry_delay=0, clock=clock)
    clock.now = datetime(2026, 1, 1, 0, 5, tzinfo=UTC)
    pump.poll_once()

    assert len(calls) == 3
    assert {c["time"] for c in calls} == {"2026-01-01T00:05:00Z"}
    [failure] = pump.failures
    assert failure["source"] == "schedule"
    assert failure["reason"] == "ValueError"


def test_stream_helpers_build_events_that_chalice_test_client_can_invoke(aws):
    t = TestApp(batch_size=100)
    t.put("before")
    tail = StreamTail(t.table)
    t.put("x", "y")

    event = tail.event()
    assert [r["dynamodb"]["Keys"]["k"]["S"] for r in event["Records"]] == ["x", "y"]
    assert tail.event() == {"Records": []}
    with Client(t.app) as client:
        client.lambda_.invoke("records", event)
    assert t.done == ["x", "y"]
    all_events = stream_events(t.table, batch_size=2)
    assert [len(e["Records"]) for e in all_events] == [2, 1]


def test_background_threads_deliver_until_stopped(aws):
    t = TestApp()
    pump = Pump(t.app, retry_delay=0, poll_interval=0.02, max_idle=0.1, sqs_wait_seconds=0)
    pump.start()
    try:
        t.put("live")
        deadline = time.monotonic() + 5
        while "live" not in t.done and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        pump.stop()
    assert t.done == ["live"]
    assert not any(th.is_alive() for th in pump._threads)


def test_shard_iterators_are_not_left_behind_in_moto(aws):
    from moto.dynamodbstreams.models import dynamodbstreams_backends

    t = TestApp()
    pump = Pump(t.app, retry_delay=0)
    backend = dynamodbstreams_backends[pump_module.LOCAL_ACCOUNT][REGION]
    for _ in range(20):
        pump.poll_once()
    assert len([arn for arn in backend.shard_iterators if f"/{t.table}/" in arn]) == 1  # the one in use
