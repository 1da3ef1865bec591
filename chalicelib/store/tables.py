"""Create every table (streams on, TTL set) for the local stack and tests; infra/ does it on AWS."""

from __future__ import annotations

from chalicelib.config import get_settings
from chalicelib.store import models
from chalicelib.store.clients import client


def create_tables() -> list[str]:
    """Create the missing tables and return the names of all of them; safe to call again."""
    models.bind_models()
    ddb = client("dynamodb")
    # ListTables answers 100 names a page: an account (or a moto) with more must be paged through
    existing = {n for page in ddb.get_paginator("list_tables").paginate() for n in page["TableNames"]}
    names = []
    for model in models.ALL_MODELS:
        name = model.Meta.table_name
        names.append(name)
        if name not in existing:
            model.create_table(wait=True, billing_mode="PAY_PER_REQUEST")
    idem = get_settings().table(models.IDEMPOTENCY_TABLE)
    names.append(idem)
    if idem not in existing:
        ddb.create_table(
            TableName=idem,
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
    for logical, attr in models.TTL.items():
        ddb.update_time_to_live(
            TableName=get_settings().table(logical),
            TimeToLiveSpecification={"Enabled": True, "AttributeName": attr},
        )
    return names


def stream_arns() -> dict[str, str]:
    """Logical table name -> latest stream ARN, for the tables a consumer reads."""
    ddb = client("dynamodb")
    out = {}
    for logical in models.STREAMED:
        desc = ddb.describe_table(TableName=get_settings().table(logical))["Table"]
        out[logical] = desc["LatestStreamArn"]
    return out
