"""The synthesised CloudFormation template has every resource the code uses, configured safely."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from aws_cdk.assertions import Match


def resources(template, type_):
    return template.find_resources(type_)


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


def test_prod_tables_are_protected_and_retained(prod):
    for table in resources(prod, "AWS::DynamoDB::Table").values():
        assert table["Properties"]["DeletionProtectionEnabled"] is True
        assert table["DeletionPolicy"] == "Retain"


def test_content_bucket_is_private_encrypted_versioned_and_notifies_bulletin_uploads(dev):
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
    notifications = next(iter(resources(dev, "Custom::S3BucketNotifications").values()))
    queues = notifications["Properties"]["NotificationConfiguration"]["QueueConfigurations"]
    assert queues[0]["Events"] == ["s3:ObjectCreated:*"]
    assert queues[0]["Filter"]["Key"]["FilterRules"] == [{"Name": "prefix", "Value": "bulletins/"}]


def test_stream_consumers_report_partial_failures_bisect_and_have_a_failure_destination(dev):
    functions = resources(dev, "AWS::Serverless::Function")
    stream_events = [
        event["Properties"]
        for fn in functions.values()
        for event in fn["Properties"].get("Events", {}).values()
        if event["Type"] == "DynamoDB"
    ]
    assert stream_events, "no stream consumer found"
    for props in stream_events:
        assert props["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
        assert props["BisectBatchOnFunctionError"] is True
        assert "OnFailure" in props["DestinationConfig"]
        assert "Fn::GetAtt" in props["Stream"]  # the real stream, not the local placeholder


def test_every_function_has_its_own_role_and_tracing(dev):
    functions = resources(dev, "AWS::Serverless::Function")
    roles = {json.dumps(fn["Properties"]["Role"]) for fn in functions.values()}
    assert len(roles) == len(functions)
    assert all(fn["Properties"]["Tracing"] == "Active" for fn in functions.values())


def test_no_wildcard_resources_in_our_policies(dev):
    allowed_wildcards = {"dynamodb:ListStreams"}  # AWS offers no resource-level permission for it
    for policy in resources(dev, "AWS::IAM::Policy").values():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            if statement.get("Resource") == "*":
                assert set(actions) <= allowed_wildcards, actions


def test_the_consumer_role_gets_only_what_it_uses(dev):
    policies = resources(dev, "AWS::IAM::Policy")
    consumer = [p for p in policies.values() if "RoleOrgMemberCounts" in json.dumps(p["Properties"]["Roles"])]
    assert len(consumer) == 1
    text = json.dumps(consumer[0])
    assert (
        "TableOrgs" in text and "TableStreamMarks" in text and "TableMembers" in text
    )  # members: stream only
    assert "TableActivity" not in text and "cognito" not in text.lower()


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


def test_reports_key_rotates(dev):
    dev.has_resource_properties("AWS::KMS::Key", {"EnableKeyRotation": True})


def test_queues_have_dead_letter_queues(dev):
    for name, queue in resources(dev, "AWS::SQS::Queue").items():
        props = queue["Properties"]
        if not props.get("QueueName", "").endswith(("-dlq", "stream-failures")):
            assert "RedrivePolicy" in props, name


def test_api_is_throttled_traced_and_passes_gzip_and_problem_json(dev):
    api = next(iter(resources(dev, "AWS::Serverless::Api").values()))["Properties"]
    assert api["TracingEnabled"] is True
    assert api["MethodSettings"][0]["ThrottlingRateLimit"] > 0
    body = api["DefinitionBody"]
    assert body["x-amazon-apigateway-binary-media-types"] == ["*/*"]
    missing = body["x-amazon-apigateway-gateway-responses"]["MISSING_AUTHENTICATION_TOKEN"]
    assert missing["statusCode"] == "404"


def test_alarms_cover_api_errors_function_errors_throttles_iterator_age_and_dead_letters(dev):
    alarms = resources(dev, "AWS::CloudWatch::Alarm").values()
    metrics = {(a["Properties"].get("Namespace"), a["Properties"].get("MetricName")) for a in alarms}
    assert ("AWS/ApiGateway", "5XXError") in metrics
    assert {("AWS/Lambda", "Errors"), ("AWS/Lambda", "Throttles"), ("AWS/Lambda", "IteratorAge")} <= metrics
    assert ("AWS/SQS", "ApproximateNumberOfMessagesVisible") in metrics


def test_functions_get_table_and_stream_names_from_the_stack(dev):
    functions = resources(dev, "AWS::Serverless::Function")
    for fn in functions.values():
        variables = fn["Properties"]["Environment"]["Variables"]
        assert variables["MMP_TABLE_PREFIX"] == "mmp-dev-"
        assert "Ref" in variables["MMP_USER_POOL_ID"]
        assert "Fn::GetAtt" in variables["MMP_STREAM_ARN_MEMBERS"]


def test_cfn_lint_finds_no_errors(dev_template_path: Path, prod_template_path: Path):
    for path in (dev_template_path, prod_template_path):
        result = subprocess.run(
            [str(Path(sys.executable).with_name("cfn-lint")), "--format", "parseable", str(path)],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        errors = [
            line for line in result.stdout.splitlines() if ":E" in line or line.split(":")[-2:-1] == ["E"]
        ]
        assert result.returncode & 2 == 0 and not errors, result.stdout[-4000:] + result.stderr[-2000:]
