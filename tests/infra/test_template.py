"""The synthesised CloudFormation template has every resource the code uses, configured safely."""

from __future__ import annotations

import fnmatch
import json
import os
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from unittest import mock

from aws_cdk.assertions import Match

from infra.access import ACCESS, ALL_TABLES

ROOT = Path(__file__).resolve().parents[2]
POLICY_TYPES = ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy")
# variables config.py reads that only the local stack and tests set
LOCAL_ONLY = {"MMP_AWS_ENDPOINT", "MMP_JWKS_URL", "MMP_JWKS_FILE"}
BUCKET_PREFIXES = {"bulletins/", "rejections/", "filings/"}


# ---- helpers ---------------------------------------------------------------------------------------


def camel(name: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in name.replace("-", "_").split("_"))


def resources(template, type_):
    return template.find_resources(type_)


def of_type(doc: dict, type_: str) -> dict[str, dict]:
    return {k: v for k, v in doc["Resources"].items() if v["Type"] == type_}


def logical_id(doc: dict, type_: str, prefix: str) -> str:
    """The one resource of a type whose CDK logical id is `prefix` plus CDK's 8-character hash."""
    found = [k for k in of_type(doc, type_) if re.fullmatch(re.escape(prefix) + "[0-9A-F]{8}", k)]
    assert len(found) == 1, (type_, prefix, found)
    return found[0]


def text(value) -> str:
    """An intrinsic as readable text: GetAtt -> <Id.Attr>, Ref -> <Id>, Join -> joined parts."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return ",".join(text(v) for v in value)
    if "Fn::GetAtt" in value:
        return "<{}.{}>".format(*value["Fn::GetAtt"])
    if "Ref" in value:
        return f"<{value['Ref']}>"
    if "Fn::Join" in value:
        sep, parts = value["Fn::Join"]
        return sep.join(text(p) for p in parts)
    if "Fn::Sub" in value:
        return text(value["Fn::Sub"] if isinstance(value["Fn::Sub"], str) else value["Fn::Sub"][0])
    return json.dumps(value)


def listed(value) -> list:
    return value if isinstance(value, list) else [value]


def app_sources():
    import app

    return app.app.event_sources


def settings_for(stage: str):
    """What config.py computes for a deployed stage, without touching this process's cached settings."""
    from chalicelib.config import get_settings

    with mock.patch.dict(os.environ, {"MMP_STAGE": stage, "AWS_DEFAULT_REGION": "us-east-1"}, clear=True):
        return get_settings.__wrapped__()


def function_id(name: str) -> str:
    return "APIHandler" if name == "api_handler" else camel(name)


def statements_of(doc: dict, name: str) -> list[dict]:
    """Every statement of our IAM policies attached to a function's own role."""
    role = doc["Resources"][function_id(name)]["Properties"]["Role"]["Fn::GetAtt"][0]
    out = []
    for type_ in POLICY_TYPES:
        for policy in of_type(doc, type_).values():
            if {"Ref": role} in policy["Properties"].get("Roles", []):
                out += policy["Properties"]["PolicyDocument"]["Statement"]
    return out


def grants(doc: dict, name: str, service: str) -> dict[str, set[str]]:
    """{action: resources as text} of a function's Allow statements for one service (`dynamodb`...)."""
    out: dict[str, set[str]] = {}
    for statement in statements_of(doc, name):
        assert statement["Effect"] == "Allow"
        for action in listed(statement["Action"]):
            if action.startswith(f"{service}:"):
                out.setdefault(action, set()).update(text(r) for r in listed(statement["Resource"]))
    return out


def table_of(resource: str) -> str:
    """`<TableOrgs2DF9C2F7.Arn>/index/*` -> `TableOrgs`."""
    match = re.match(r"<(Table\w+?)[0-9A-F]{8}\.(Arn|StreamArn)>", resource)
    assert match, resource
    return match.group(1)


def tables_for(doc: dict, name: str, actions: set[str]) -> set[str]:
    return {
        table_of(r)
        for action, found in grants(doc, name, "dynamodb").items()
        if action in actions
        for r in found
    }


READS = {"dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:Scan"}
WRITES = {"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem"}


# ---- tables ----------------------------------------------------------------------------------------


def test_every_model_has_an_on_demand_table_with_recovery_streams_and_ttl(dev):
    from chalicelib.store import models

    tables = resources(dev, "AWS::DynamoDB::Table")
    by_name = {t["Properties"]["TableName"]: t["Properties"] for t in tables.values()}
    for model in models.ALL_MODELS:
        props = by_name[f"mmp-dev-{model.Meta.logical_name}"]
        assert props["BillingMode"] == "PAY_PER_REQUEST"
        assert props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
        schema = model._get_schema()
        assert {k["AttributeName"] for k in props["KeySchema"]} == {
            k["AttributeName"] for k in schema["key_schema"]
        }
        assert {g["IndexName"] for g in props.get("GlobalSecondaryIndexes", [])} == {
            g["index_name"] for g in schema["global_secondary_indexes"]
        }
        if model.Meta.logical_name in models.STREAMED:
            assert props["StreamSpecification"]["StreamViewType"] == "NEW_AND_OLD_IMAGES"
        if model.Meta.logical_name in models.TTL:
            assert props["TimeToLiveSpecification"] == {
                "AttributeName": models.TTL[model.Meta.logical_name],
                "Enabled": True,
            }
    assert "mmp-dev-idempotency" in by_name
    dev.resource_count_is("AWS::DynamoDB::Table", len(models.ALL_MODELS) + 1)


def test_prod_tables_are_protected_and_retained(prod):
    for table in resources(prod, "AWS::DynamoDB::Table").values():
        assert table["Properties"]["DeletionProtectionEnabled"] is True
        assert table["DeletionPolicy"] == "Retain"


# ---- bucket ----------------------------------------------------------------------------------------


def test_content_bucket_is_private_encrypted_versioned_and_notifies_bulletin_uploads(dev, dev_json):
    dev.has_resource_properties(
        "AWS::S3::Bucket",
        {
            "PublicAccessBlockConfiguration": {
                "BlockPublicAcls": True,
                "BlockPublicPolicy": True,
                "IgnorePublicAcls": True,
                "RestrictPublicBuckets": True,
            },
            "BucketEncryption": Match.object_like({}),
            "VersioningConfiguration": {"Status": "Enabled"},
        },
    )
    dev.has_resource_properties(  # TLS only
        "AWS::S3::BucketPolicy",
        {
            "PolicyDocument": Match.object_like(
                {
                    "Statement": Match.array_with(
                        [
                            Match.object_like(
                                {"Effect": "Deny", "Condition": {"Bool": {"aws:SecureTransport": "false"}}}
                            )
                        ]
                    )
                }
            )
        },
    )
    notifications = next(iter(resources(dev, "Custom::S3BucketNotifications").values()))
    queues = notifications["Properties"]["NotificationConfiguration"]["QueueConfigurations"]
    assert len(queues) == 1
    assert queues[0]["Events"] == ["s3:ObjectCreated:*"]
    assert queues[0]["Filter"]["Key"]["FilterRules"] == [{"Name": "prefix", "Value": "bulletins/"}]
    upload_queue = logical_id(dev_json, "AWS::SQS::Queue", "QueueBulletinQueue")
    assert queues[0]["QueueArn"] == {"Fn::GetAtt": [upload_queue, "Arn"]}
    assert (
        dev_json["Resources"][upload_queue]["Properties"]["QueueName"] == settings_for("dev").bulletin_queue
    )


# ---- consumers: streams, queues, schedules ----------------------------------------------------------


def test_stream_consumers_report_partial_failures_bisect_and_have_a_failure_destination(dev_json):
    from chalice.app import DynamoDBEventConfig

    sources = [s for s in app_sources() if isinstance(s, DynamoDBEventConfig)]
    assert {s.name for s in sources} >= {
        "org_member_counts",
        "branch_dissolution",
        "transfer_filing",
        "transfer_stats",
        "member_stats",
        "branch_stats",
        "participation_scoring",
    }
    failures = logical_id(dev_json, "AWS::SQS::Queue", "DlqStreamFailures")
    for source in sources:
        fn = dev_json["Resources"][camel(source.name)]["Properties"]
        props = fn["Events"][f"{camel(source.name)}DynamodbEventSource"]["Properties"]
        assert props["FunctionResponseTypes"] == ["ReportBatchItemFailures"], source.name
        assert props["BisectBatchOnFunctionError"] is True
        assert props["MaximumRetryAttempts"] > 0
        assert props["DestinationConfig"] == {"OnFailure": {"Destination": {"Fn::GetAtt": [failures, "Arn"]}}}
        # the real stream of the table the consumer names, not the local placeholder
        (table,) = ACCESS[source.name].streams
        assert props["Stream"] == {
            "Fn::GetAtt": [logical_id(dev_json, "AWS::DynamoDB::Table", f"Table{camel(table)}"), "StreamArn"]
        }


def test_queue_consumers_read_the_stacks_queues_and_report_partial_failures(dev_json):
    from chalice.app import SQSEventConfig

    sources = [s for s in app_sources() if isinstance(s, SQSEventConfig)]
    assert {s.name for s in sources} == {"bulletin_ingest", "urgent_push", "participation_filing_jobs"}
    settings = settings_for("dev")
    for source in sources:
        fn = dev_json["Resources"][camel(source.name)]["Properties"]
        props = fn["Events"][f"{camel(source.name)}SqsEventSource"]["Properties"]
        assert props["FunctionResponseTypes"] == ["ReportBatchItemFailures"], source.name
        (attr,) = ACCESS[source.name].queues
        queue = logical_id(dev_json, "AWS::SQS::Queue", f"Queue{camel(attr)}")
        assert props["Queue"] == {"Fn::GetAtt": [queue, "Arn"]}, source.name  # not a name-built ARN
        assert dev_json["Resources"][queue]["Properties"]["QueueName"] == getattr(settings, attr)


def test_schedules_are_the_daily_expiry_the_monthly_filing_and_the_hourly_dissolution_sweep(dev_json):
    from chalicelib.consumers import branch_dissolution, monthly_filing

    schedules = {
        name: event["Properties"]["Schedule"]
        for name, fn in of_type(dev_json, "AWS::Serverless::Function").items()
        for event in fn["Properties"].get("Events", {}).values()
        if event["Type"] == "Schedule"
    }
    assert schedules == {
        "TransferExpiry": "cron(0 17 * * ? *)",  # 01:00 China Standard Time, every day
        "ParticipationFilingSchedule": "cron(30 16 L * ? *)",
        "BranchDissolutionSweep": "rate(1 hour)",
    }
    assert schedules["ParticipationFilingSchedule"] == monthly_filing.SCHEDULE.to_string()
    assert schedules["BranchDissolutionSweep"] == branch_dissolution.SWEEP_SCHEDULE.to_string()
    # EventBridge cron is UTC: 16:30 on the last day of a month is 00:30 on the 1st in Asia/Shanghai
    shanghai = timezone(timedelta(hours=8))  # no daylight saving
    for last_day in (datetime(2026, 2, 28, 16, 30, tzinfo=UTC), datetime(2026, 12, 31, 16, 30, tzinfo=UTC)):
        local = last_day.astimezone(shanghai)
        assert (local.day, local.hour, local.minute) == (1, 0, 30)


def test_functions_share_one_dependency_layer(dev_json):
    layer = next(iter(of_type(dev_json, "AWS::Serverless::LayerVersion")))
    for name, fn in of_type(dev_json, "AWS::Serverless::Function").items():
        assert fn["Properties"]["Layers"] == [{"Ref": layer}], name


# ---- events, SNS, keys ------------------------------------------------------------------------------


def test_platform_bus_and_the_rule_sending_urgent_bulletins_to_the_push_queue(dev, dev_json):
    from chalicelib.store.events import URGENT_PATTERN

    settings = settings_for("dev")
    dev.has_resource_properties("AWS::Events::EventBus", {"Name": settings.event_bus})
    bus = logical_id(dev_json, "AWS::Events::EventBus", "EventBus")
    push_queue = logical_id(dev_json, "AWS::SQS::Queue", "QueueUrgentPushQueue")
    assert dev_json["Resources"][push_queue]["Properties"]["QueueName"] == settings.urgent_push_queue
    (rule_id, rule), *more = of_type(dev_json, "AWS::Events::Rule").items()
    assert not more
    props = rule["Properties"]
    assert props["Name"] == f"{settings.event_bus}-urgent-push"  # store.events.urgent_rule_name()
    assert props["EventBusName"] == {"Ref": bus}
    assert props["EventPattern"] == json.loads(json.dumps(URGENT_PATTERN))
    assert props["State"] == "ENABLED"
    (target,) = props["Targets"]
    assert target["Arn"] == {"Fn::GetAtt": [push_queue, "Arn"]}
    assert "DeadLetterConfig" in target and "InputTransformer" not in target  # the consumer reads the event
    dev.has_resource_properties(
        "AWS::SQS::QueuePolicy",
        {
            "Queues": [{"Ref": push_queue}],
            "PolicyDocument": Match.object_like(
                {
                    "Statement": Match.array_with(
                        [
                            Match.object_like(
                                {
                                    "Effect": "Allow",
                                    "Principal": {"Service": "events.amazonaws.com"},
                                    "Action": Match.array_with(["sqs:SendMessage"]),
                                    "Condition": {
                                        "ArnEquals": {"aws:SourceArn": {"Fn::GetAtt": [rule_id, "Arn"]}}
                                    },
                                }
                            )
                        ]
                    )
                }
            ),
        },
    )


def test_only_bulletin_ingest_puts_events_and_only_on_the_platform_bus(dev_json):
    bus = logical_id(dev_json, "AWS::Events::EventBus", "EventBus")
    for name in ACCESS:
        found = grants(dev_json, name, "events")
        if name == "bulletin_ingest":
            assert found == {"events:PutEvents": {f"<{bus}.Arn>"}}
        else:
            assert not found, name


def test_only_urgent_push_creates_and_publishes_topics_under_the_bulletin_prefix(dev_json):
    prefix = settings_for("dev").bulletin_topic_prefix
    pattern = f"arn:<AWS::Partition>:sns:<AWS::Region>:<AWS::AccountId>:{prefix}*"
    for name in ACCESS:
        found = grants(dev_json, name, "sns")
        if name == "urgent_push":
            assert found == {"sns:CreateTopic": {pattern}, "sns:Publish": {pattern}}
        else:
            assert not found, name


def test_report_keys_the_api_encrypts_and_macs_and_nobody_decrypts(dev, dev_json):
    settings = settings_for("dev")
    reports = logical_id(dev_json, "AWS::KMS::Key", "ReportsKey")
    lookup = logical_id(dev_json, "AWS::KMS::Key", "ReportsLookupKey")
    dev.resource_count_is("AWS::KMS::Key", 2)
    props = dev_json["Resources"][reports]["Properties"]
    assert (
        props["EnableKeyRotation"] is True
        and props.get("KeySpec", "SYMMETRIC_DEFAULT") == "SYMMETRIC_DEFAULT"
    )
    dev.has_resource_properties("AWS::KMS::Key", {"KeySpec": "HMAC_256", "KeyUsage": "GENERATE_VERIFY_MAC"})
    assert dev_json["Resources"][lookup]["Properties"]["KeySpec"] == "HMAC_256"
    aliases = {
        a["Properties"]["AliasName"]: a["Properties"]["TargetKeyId"]
        for a in of_type(dev_json, "AWS::KMS::Alias").values()
    }
    assert aliases == {
        settings.reports_key_id: {"Fn::GetAtt": [reports, "Arn"]},
        settings.reports_lookup_key_id: {"Fn::GetAtt": [lookup, "Arn"]},
    }
    # the API: Encrypt (bound to a case) with the reports key and GenerateMac with the lookup key
    api = grants(dev_json, "api_handler", "kms")
    assert api == {"kms:Encrypt": {f"<{reports}.Arn>"}, "kms:GenerateMac": {f"<{lookup}.Arn>"}}
    (encrypt,) = [s for s in statements_of(dev_json, "api_handler") if s["Action"] == "kms:Encrypt"]
    assert encrypt["Condition"] == {"StringEquals": {"kms:EncryptionContext:purpose": "case-reporter"}}
    for name in ACCESS:
        if name != "api_handler":
            assert not grants(dev_json, name, "kms"), name
    # no IAM policy of ours lets anyone Decrypt (nor ReEncrypt, which decrypts on the way)
    for type_ in (*POLICY_TYPES, "AWS::IAM::Role"):
        for rid, resource in of_type(dev_json, type_).items():
            documents = [resource["Properties"].get("PolicyDocument")]
            documents += [p["PolicyDocument"] for p in resource["Properties"].get("Policies", [])]
            for document in filter(None, documents):
                for statement in document["Statement"]:
                    for action in listed(statement["Action"]):
                        for forbidden in ("kms:Decrypt", "kms:ReEncryptFrom", "kms:GenerateDataKey"):
                            assert not fnmatch.fnmatch(forbidden, action), (rid, action)
    # and the key's own policy refuses Decrypt to every function's role, whatever is granted later
    roles = {
        json.dumps(fn["Properties"]["Role"], sort_keys=True)
        for fn in of_type(dev_json, "AWS::Serverless::Function").values()
    }
    (deny,) = [s for s in props["KeyPolicy"]["Statement"] if s["Effect"] == "Deny"]
    assert set(listed(deny["Action"])) >= {"kms:Decrypt", "kms:ReEncryptFrom"}
    denied = {json.dumps(r, sort_keys=True) for r in deny["Condition"]["ArnEquals"]["aws:PrincipalArn"]}
    assert roles <= denied


def test_functions_get_every_name_and_key_config_reads(dev_json):
    from chalicelib.config import Settings
    from chalicelib.store import models

    source = (ROOT / "chalicelib" / "config.py").read_text()
    read = set(re.findall(r'env\.get\(\s*"(MMP_\w+)"', source))
    assert {"MMP_EVENT_BUS", "MMP_BULLETIN_TOPIC_PREFIX", "MMP_REPORTS_LOOKUP_KEY_ID"} <= read
    settings = settings_for("dev")
    queues = {a for a in Settings.__dataclass_fields__ if a.endswith("_queue")}
    bus = logical_id(dev_json, "AWS::Events::EventBus", "EventBus")
    for name, fn in of_type(dev_json, "AWS::Serverless::Function").items():
        variables = fn["Properties"]["Environment"]["Variables"]
        assert read - LOCAL_ONLY <= variables.keys(), (name, sorted(read - LOCAL_ONLY - variables.keys()))
        assert variables["MMP_STAGE"] == "dev"
        assert variables["MMP_TABLE_PREFIX"] == settings.table_prefix
        assert "Ref" in variables["MMP_USER_POOL_ID"]
        assert variables["MMP_EVENT_BUS"] == {"Ref": bus}
        assert variables["MMP_BULLETIN_TOPIC_PREFIX"] == settings.bulletin_topic_prefix
        assert variables["MMP_REPORTS_KEY_ID"]["Fn::GetAtt"][0].startswith("ReportsKey")
        assert variables["MMP_REPORTS_LOOKUP_KEY_ID"]["Fn::GetAtt"][0].startswith("ReportsLookupKey")
        for attr in queues:
            queue, attribute = variables[f"MMP_{attr.upper()}"]["Fn::GetAtt"]
            assert attribute == "QueueName" and queue.startswith(f"Queue{camel(attr)}")
        for logical in models.STREAMED:
            assert "Fn::GetAtt" in variables[f"MMP_STREAM_ARN_{logical.upper()}"]


# ---- least privilege --------------------------------------------------------------------------------


def test_every_function_has_its_own_role_and_tracing(dev):
    functions = resources(dev, "AWS::Serverless::Function")
    roles = {json.dumps(fn["Properties"]["Role"]) for fn in functions.values()}
    assert len(roles) == len(functions) == len(ACCESS)
    assert all(fn["Properties"]["Tracing"] == "Active" for fn in functions.values())


def test_each_function_touches_exactly_the_tables_access_py_declares(dev_json):
    from chalicelib.store import models

    every = {camel(m.Meta.logical_name) for m in models.ALL_MODELS} | {camel(models.IDEMPOTENCY_TABLE)}
    for name, access in ACCESS.items():
        rw = every if ALL_TABLES in access.tables else {camel(t) for t in access.tables}
        reads = rw | {camel(t) for t in access.read_tables}
        writes = rw | {camel(t) for t in access.write_tables}
        assert tables_for(dev_json, name, READS) == {f"Table{t}" for t in reads}, name
        assert tables_for(dev_json, name, WRITES) == {f"Table{t}" for t in writes}, name
        streams = {table_of(r) for r in grants(dev_json, name, "dynamodb").get("dynamodb:GetRecords", ())}
        assert streams == {f"Table{camel(t)}" for t in access.streams}, name
        assert "dynamodb:Scan" not in grants(dev_json, name, "dynamodb"), name  # nothing scans


def test_the_consumer_role_gets_only_what_it_uses(dev_json):
    text_ = json.dumps(statements_of(dev_json, "org_member_counts"))
    assert "TableOrgs" in text_ and "TableStreamMarks" in text_ and "TableMembers" in text_  # members: stream
    assert "TableActivity" not in text_ and "cognito" not in text_.lower()


def test_urgent_push_touches_only_its_marks_queue_and_topics(dev_json):
    statements = statements_of(dev_json, "urgent_push")
    services = {a.split(":")[0] for s in statements for a in listed(s["Action"])}
    assert services == {"dynamodb", "sqs", "sns"}
    assert tables_for(dev_json, "urgent_push", READS | WRITES) == {"TableStreamMarks"}
    assert not tables_for(dev_json, "urgent_push", READS)  # marks are put and deleted, never read
    push_queue = logical_id(dev_json, "AWS::SQS::Queue", "QueueUrgentPushQueue")
    assert set().union(*grants(dev_json, "urgent_push", "sqs").values()) == {f"<{push_queue}.Arn>"}


def test_transfer_filing_writes_filings_from_the_transfer_stream_and_cannot_read_the_bucket(dev_json):
    assert not grants(dev_json, "transfer_filing", "s3")
    assert tables_for(dev_json, "transfer_filing", WRITES) == {"TableTransferFilings"}
    assert not tables_for(dev_json, "transfer_filing", READS)
    assert tables_for(dev_json, "transfer_filing", {"dynamodb:GetRecords"}) == {"TableTransfers"}


def test_bucket_access_is_scoped_to_key_prefixes(dev_json):
    bucket = logical_id(dev_json, "AWS::S3::Bucket", "ContentBucket")

    def objects(*prefixes):
        return {f"<{bucket}.Arn>/{p}*" for p in prefixes}

    expected = {
        "api_handler": {
            "s3:GetObject": objects("rejections/"),
            "s3:PutObject": objects("bulletins/"),  # the presigned upload URLs it signs
            "s3:ListBucket": {f"<{bucket}.Arn>"},
        },
        "bulletin_ingest": {
            "s3:GetObject": objects("bulletins/"),
            "s3:PutObject": objects("rejections/"),
            "s3:DeleteObject": objects("rejections/"),
            "s3:ListBucket": {f"<{bucket}.Arn>"},
        },
        "participation_filing_jobs": {"s3:PutObject": objects("filings/")},
    }
    for name in ACCESS:
        assert grants(dev_json, name, "s3") == expected.get(name, {}), name


def test_only_the_api_administers_cognito(dev_json):
    for name in ACCESS:
        assert bool(grants(dev_json, name, "cognito-idp")) == (name == "api_handler"), name


def test_no_wildcard_resources_in_our_policies_but_the_documented_ones(dev_json):
    """`*` only where AWS or the design leaves no choice: ListStreams has no resource-level permission,
    GSIs are queried as `table/index/*`, objects by key prefix, and per-scope SNS topics by name prefix
    (they are created on first use, so they cannot be listed)."""
    bucket = logical_id(dev_json, "AWS::S3::Bucket", "ContentBucket")
    prefix = settings_for("dev").bulletin_topic_prefix
    topics = f"arn:<AWS::Partition>:sns:<AWS::Region>:<AWS::AccountId>:{prefix}*"
    allowed = [r"<Table\w+\.Arn>/index/\*"]
    allowed += [re.escape(f"<{bucket}.Arn>/{p}*") for p in BUCKET_PREFIXES]
    allowed += [re.escape(topics)]
    checked = 0
    for type_ in POLICY_TYPES:
        for pid, policy in of_type(dev_json, type_).items():
            for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
                actions = listed(statement["Action"])
                assert all(a != "*" and not a.endswith(":*") for a in actions), (pid, actions)
                for resource in listed(statement["Resource"]):
                    checked += 1
                    if resource == "*":
                        assert actions == ["dynamodb:ListStreams"], (pid, actions)
                    elif "*" in text(resource):
                        assert any(re.fullmatch(p, text(resource)) for p in allowed), (pid, text(resource))
    assert checked > 50


# ---- queues, Cognito, API, alarms, outputs ---------------------------------------------------------


def test_queues_have_dead_letter_queues(dev_json):
    from chalicelib.config import Settings

    queues = of_type(dev_json, "AWS::SQS::Queue")
    for attr in (a for a in Settings.__dataclass_fields__ if a.endswith("_queue")):
        props = queues[logical_id(dev_json, "AWS::SQS::Queue", f"Queue{camel(attr)}")]["Properties"]
        dead = props["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
        assert queues[dead]["Properties"]["QueueName"].endswith("-dlq"), attr
        assert props["RedrivePolicy"]["maxReceiveCount"] >= 3
    for name, queue in queues.items():
        props = queue["Properties"]
        if not props.get("QueueName", "").endswith(("-dlq", "stream-failures")):
            assert "RedrivePolicy" in props, name
        assert props["SqsManagedSseEnabled"] is True, name


def test_user_pool_and_client_match_the_login_flows(dev):
    dev.has_resource_properties(
        "AWS::Cognito::UserPool",
        {
            "Policies": {"PasswordPolicy": Match.object_like({"MinimumLength": 10})},
            "AdminCreateUserConfig": {"AllowAdminCreateUserOnly": True},
        },
    )
    dev.has_resource_properties(
        "AWS::Cognito::UserPoolClient",
        {
            "ExplicitAuthFlows": Match.array_with(["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]),
            "GenerateSecret": False,
        },
    )


def test_api_is_throttled_traced_and_passes_gzip_and_problem_json(dev):
    api = next(iter(resources(dev, "AWS::Serverless::Api").values()))["Properties"]
    assert api["TracingEnabled"] is True
    assert api["MethodSettings"][0]["ThrottlingRateLimit"] > 0
    body = api["DefinitionBody"]
    assert body["x-amazon-apigateway-binary-media-types"] == ["*/*"]
    missing = body["x-amazon-apigateway-gateway-responses"]["MISSING_AUTHENTICATION_TOKEN"]
    assert missing["statusCode"] == "404"


def test_alarms_cover_api_errors_every_function_stream_age_and_every_dead_letter_queue(dev_json):
    from chalice.app import DynamoDBEventConfig

    alarms = [a["Properties"] for a in of_type(dev_json, "AWS::CloudWatch::Alarm").values()]

    def watched(namespace, metric, dimension):
        return {
            json.dumps(d["Value"], sort_keys=True)
            for a in alarms
            if (a.get("Namespace"), a.get("MetricName")) == (namespace, metric)
            for d in a["Dimensions"]
            if d["Name"] == dimension
        }

    api_name = next(iter(of_type(dev_json, "AWS::Serverless::Api").values()))["Properties"]["Name"]
    assert watched("AWS/ApiGateway", "5XXError", "ApiName") == {json.dumps(api_name)}
    functions = {json.dumps({"Ref": fid}) for fid in of_type(dev_json, "AWS::Serverless::Function")}
    assert watched("AWS/Lambda", "Errors", "FunctionName") == functions
    assert watched("AWS/Lambda", "Throttles", "FunctionName") == functions
    streamed = {
        json.dumps({"Ref": camel(s.name)}) for s in app_sources() if isinstance(s, DynamoDBEventConfig)
    }
    assert watched("AWS/Lambda", "IteratorAge", "FunctionName") == streamed
    dead = {
        json.dumps({"Fn::GetAtt": [qid, "QueueName"]}, sort_keys=True)
        for qid, q in of_type(dev_json, "AWS::SQS::Queue").items()
        if q["Properties"]["QueueName"].endswith(("-dlq", "stream-failures"))
    }
    assert len(dead) == 5  # three queues' DLQs, the stream failures, undeliverable urgent events
    assert watched("AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName") == dead


def test_outputs_name_what_a_deployer_needs(dev_json):
    assert set(dev_json["Outputs"]) >= {
        "ApiUrl",
        "UserPoolId",
        "UserPoolClientId",
        "ContentBucketName",
        "EventBusName",
        "BulletinTopicPrefix",
        "ReportsKeyArn",
        "ReportsLookupKeyArn",
    }


# ---- lint ------------------------------------------------------------------------------------------


def test_cfn_lint_finds_no_errors(dev_template_path: Path, prod_template_path: Path):
    runs = [  # both at once: each takes several seconds of one core
        subprocess.Popen(
            [str(Path(sys.executable).with_name("cfn-lint")), "--format", "parseable", str(path)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for path in (dev_template_path, prod_template_path)
    ]
    for run in runs:
        out, err = run.communicate(timeout=300)
        errors = [line for line in out.splitlines() if re.search(r":E\d+:", line)]
        assert run.returncode & 2 == 0 and not errors, out[-4000:] + err[-2000:]
