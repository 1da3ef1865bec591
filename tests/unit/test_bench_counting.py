"""The bench's call counter sees boto3 and PynamoDB calls alike; its import-time parser finds the importer."""

from __future__ import annotations

import contextlib
import secrets
from collections import Counter

import boto3
from moto import mock_aws
from pynamodb.attributes import UnicodeAttribute
from pynamodb.models import Model

from bench.coldstart import import_costs
from bench.counting import CallCounter, by_service, describe


def test_counts_boto3_and_pynamodb_calls_per_window():
    table = f"bench-counter-{secrets.token_hex(4)}"

    class Thing(Model):
        class Meta:
            table_name = table
            region = "us-east-1"

        key = UnicodeAttribute(hash_key=True)

    counter = CallCounter()
    counter.install()
    try:
        with mock_aws():
            ddb = boto3.client("dynamodb", region_name="us-east-1")
            ddb.create_table(
                TableName=table,
                BillingMode="PAY_PER_REQUEST",
                KeySchema=[{"AttributeName": "key", "KeyType": "HASH"}],
                AttributeDefinitions=[{"AttributeName": "key", "AttributeType": "S"}],
            )
            with counter.window() as calls:
                ddb.get_item(TableName=table, Key={"key": {"S": "a"}})
                Thing("a").save()
                Thing.get("a")
                boto3.client("sts", region_name="us-east-1").get_caller_identity()
    finally:
        counter.uninstall()
    assert by_service(calls, "dynamodb") == Counter({"GetItem": 2, "PutItem": 1})
    assert calls[("sts", "GetCallerIdentity")] == 1
    assert describe(by_service(calls, "dynamodb")) == "GetItem 2, PutItem 1"
    assert "dynamodb" in counter.clients  # PynamoDB's own client was hooked too


def test_uninstall_stops_counting():
    counter = CallCounter()
    counter.install()
    counter.uninstall()
    with mock_aws(), counter.window() as calls:
        boto3.client("sts", region_name="us-east-1").get_caller_identity()
    assert not calls


IMPORTTIME = """\
import time: self [us] | cumulative | imported package
import time:       100 |        100 | encodings
import time:      3000 |       3000 |       pydantic_core
import time:      5000 |       8000 |     pydantic
import time:       200 |       8200 |   chalicelib.api.schemas
import time:      1000 |       1000 |     pydantic.json_schema
import time:       300 |       1300 |   chalicelib.api.openapi
import time:      2000 |       2000 |   chalice
import time:       500 |      12000 | app
"""


def test_import_costs_attribute_third_party_packages_to_project_importers():
    costs, total = import_costs(IMPORTTIME)
    assert total == 12.0
    assert [(c.package, c.ms, c.imported_by) for c in costs] == [
        ("pydantic", 8.0, "chalicelib.api.schemas"),
        ("chalice", 2.0, "app"),
        ("pydantic", 1.0, "chalicelib.api.openapi"),
    ]


def test_items_written_per_write_call():
    table = f"bench-items-{secrets.token_hex(4)}"
    counter = CallCounter()
    counter.install()
    try:
        with mock_aws():
            ddb = boto3.client("dynamodb", region_name="us-east-1")
            ddb.create_table(
                TableName=table,
                BillingMode="PAY_PER_REQUEST",
                KeySchema=[{"AttributeName": "key", "KeyType": "HASH"}],
                AttributeDefinitions=[{"AttributeName": "key", "AttributeType": "S"}],
            )
            with counter.window() as calls, counter.writes() as items, counter.timings() as ms:
                ddb.put_item(TableName=table, Item={"key": {"S": "a"}})
                ddb.batch_write_item(
                    RequestItems={
                        table: [{"PutRequest": {"Item": {"key": {"S": f"b{i}"}}}} for i in range(3)]
                    }
                )
                ddb.transact_write_items(
                    TransactItems=[
                        {"Put": {"TableName": table, "Item": {"key": {"S": "c"}}}},
                        {
                            "ConditionCheck": {
                                "TableName": table,
                                "Key": {"key": {"S": "a"}},
                                "ConditionExpression": "attribute_exists(#k)",
                                "ExpressionAttributeNames": {"#k": "key"},
                            }
                        },
                    ]
                )
                ddb.get_item(TableName=table, Key={"key": {"S": "a"}})
                with contextlib.suppress(ddb.exceptions.ConditionalCheckFailedException):
                    ddb.put_item(  # refused: writes nothing
                        TableName=table,
                        Item={"key": {"S": "a"}},
                        ConditionExpression="attribute_not_exists(#k)",
                        ExpressionAttributeNames={"#k": "key"},
                    )
    finally:
        counter.uninstall()
    assert by_service(calls, "dynamodb") == Counter(
        {"PutItem": 2, "BatchWriteItem": 1, "TransactWriteItems": 1, "GetItem": 1}
    )
    assert items == Counter({"PutItem": 1, "BatchWriteItem": 3, "TransactWriteItems": 1})
    assert set(ms) == set(calls) and all(v > 0 for v in ms.values())
