"""The platform's one stack: tables, bucket, queues, event bus, user pool, keys, the Chalice app, alarms.

Tables come from the PynamoDB models themselves (keys, indexes, streams, TTL), queues from the
`*_queue` settings, the urgent-push rule from `store.events.URGENT_PATTERN`, and consumers from the
Chalice app's event sources, so the stack stays in step with the code without a second list to keep.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_dynamodb as ddb
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_notifications as s3n
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.access import ACCESS, ALL_TABLES, Access

ROOT = Path(__file__).resolve().parents[1]
API_FUNCTION = "api_handler"
LAMBDA_TIMEOUT = 30
THROTTLE = {"prod": (5000, 10000), "dev": (50, 100)}  # (steady requests/s, burst) per stage
_ATTR_TYPES = {"S": ddb.AttributeType.STRING, "N": ddb.AttributeType.NUMBER, "B": ddb.AttributeType.BINARY}
# what the code does with DynamoDB, by kind of access (no Scan: nothing in the code scans)
_READ = ["dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:ConditionCheckItem"]
_WRITE = ["dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem"]
_PROBLEM = '{"type":"about:blank","title":"$context.error.responseType","status":%d,"detail":$context.error.messageString,"errors":[]}'  # noqa: E501


def camel(name: str) -> str:
    """`org_member_counts` -> `OrgMemberCounts`, as Chalice names the resources it generates."""
    return "".join(part[:1].upper() + part[1:] for part in name.replace("-", "_").split("_"))


class PlatformStack(cdk.Stack):
    """Everything the code uses, for one stage (`dev` or `prod`)."""

    def __init__(self, scope: Construct, construct_id: str, *, stage: str, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.stage = stage
        self.prod = stage == "prod"
        self.removal = cdk.RemovalPolicy.RETAIN if self.prod else cdk.RemovalPolicy.DESTROY
        self.prefix = f"mmp-{stage}-"

        from chalicelib.store import models

        self.tables = self._tables(models)
        self.indexed = {
            m.Meta.logical_name for m in models.ALL_MODELS if m._get_schema()["global_secondary_indexes"]
        }
        self.bucket = self._bucket()
        self.queues, self.dead_letters = self._queues()
        self.failures = self._dlq("stream-failures")
        self.bus, self.urgent_delivery_failures = self._event_bus()
        self.topic_prefix = f"{self.prefix}bulletins-"
        self.pool, self.pool_client = self._user_pool()
        self.reports_key, self.lookup_key = self._report_keys()
        self.cursor_secret = secretsmanager.Secret(
            self,
            "CursorSecret",
            description="Signs the opaque list cursors",
            generate_secret_string=secretsmanager.SecretStringGenerator(
                exclude_punctuation=True, password_length=48
            ),
        )
        app = _chalice_app()
        self.functions = self._function_names(app)
        self.roles = {name: self._role(name) for name in self.functions}
        self.chalice = self._chalice()
        self.stream_consumers = self._wire_event_sources(app)
        self._api_settings()
        self._grant_all()
        self._deny_decrypt()
        self._alarms()
        cdk.CfnOutput(self, "ApiUrl", value=self._api_url())
        cdk.CfnOutput(self, "UserPoolId", value=self.pool.user_pool_id)
        cdk.CfnOutput(self, "UserPoolClientId", value=self.pool_client.user_pool_client_id)
        cdk.CfnOutput(self, "ContentBucketName", value=self.bucket.bucket_name)
        cdk.CfnOutput(self, "EventBusName", value=self.bus.event_bus_name)
        cdk.CfnOutput(self, "BulletinTopicPrefix", value=self.topic_prefix)
        cdk.CfnOutput(self, "ReportsKeyArn", value=self.reports_key.key_arn)
        cdk.CfnOutput(self, "ReportsLookupKeyArn", value=self.lookup_key.key_arn)

    # ---- data --------------------------------------------------------------------------------------

    def _tables(self, models: Any) -> dict[str, ddb.Table]:
        tables = {}
        for model in models.ALL_MODELS:
            logical = model.Meta.logical_name
            tables[logical] = self._table(
                logical, model._get_schema(), logical in models.STREAMED, models.TTL.get(logical)
            )
        idem = {
            "attribute_definitions": [{"AttributeName": "id", "AttributeType": "S"}],
            "key_schema": [{"AttributeName": "id", "KeyType": "HASH"}],
            "global_secondary_indexes": [],
        }
        tables[models.IDEMPOTENCY_TABLE] = self._table(
            models.IDEMPOTENCY_TABLE, idem, False, models.TTL.get(models.IDEMPOTENCY_TABLE)
        )
        return tables

    def _table(self, logical: str, schema: dict, streamed: bool, ttl: str | None) -> ddb.Table:
        types = {d["AttributeName"]: _ATTR_TYPES[d["AttributeType"]] for d in schema["attribute_definitions"]}

        def key(key_schema: list[dict], kind: str) -> ddb.Attribute | None:
            name = next((k["AttributeName"] for k in key_schema if k["KeyType"] == kind), None)
            return ddb.Attribute(name=name, type=types[name]) if name else None

        table = ddb.Table(
            self,
            f"Table{camel(logical)}",
            table_name=f"{self.prefix}{logical}",
            partition_key=key(schema["key_schema"], "HASH"),
            sort_key=key(schema["key_schema"], "RANGE"),
            billing_mode=ddb.BillingMode.PAY_PER_REQUEST,
            point_in_time_recovery_specification=ddb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            stream=ddb.StreamViewType.NEW_AND_OLD_IMAGES if streamed else None,
            time_to_live_attribute=ttl,
            deletion_protection=self.prod,
            encryption=ddb.TableEncryption.AWS_MANAGED,
            removal_policy=self.removal,
        )
        for index in schema.get("global_secondary_indexes", []):
            projection = index.get("projection", {}).get("ProjectionType", "ALL")
            table.add_global_secondary_index(
                index_name=index["index_name"],
                partition_key=key(index["key_schema"], "HASH"),
                sort_key=key(index["key_schema"], "RANGE"),
                projection_type=ddb.ProjectionType(projection),
                non_key_attributes=index.get("projection", {}).get("NonKeyAttributes"),
            )
        return table

    def _bucket(self) -> s3.Bucket:
        return s3.Bucket(
            self,
            "ContentBucket",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            versioned=True,
            removal_policy=self.removal,
            auto_delete_objects=not self.prod,
            cors=[
                s3.CorsRule(
                    allowed_methods=[s3.HttpMethods.PUT], allowed_origins=["*"], allowed_headers=["*"]
                )
            ],
        )

    def _dlq(self, name: str) -> sqs.Queue:
        return sqs.Queue(
            self,
            f"Dlq{camel(name)}",
            queue_name=f"{self.prefix}{name}",
            retention_period=cdk.Duration.days(14),
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
        )

    def _queues(self) -> tuple[dict[str, sqs.Queue], dict[str, sqs.Queue]]:
        """One queue (with a dead-letter queue) per queue name in settings; bulletins/ uploads feed one."""
        from chalicelib.config import QUEUE_MAX_RECEIVES, Settings, dead_letter_queue

        queues, dead = {}, {}
        for attr in sorted(f for f in Settings.__dataclass_fields__ if f.endswith("_queue")):
            name = f"{self.prefix}{attr.removesuffix('_queue').replace('_', '-')}"
            if attr == "bulletin_queue":
                name = f"{self.prefix}bulletin-uploads"
            dead[attr] = self._dlq(dead_letter_queue(name).removeprefix(self.prefix))
            queues[attr] = sqs.Queue(
                self,
                f"Queue{camel(attr)}",
                queue_name=name,
                visibility_timeout=cdk.Duration.seconds(6 * LAMBDA_TIMEOUT),
                encryption=sqs.QueueEncryption.SQS_MANAGED,
                enforce_ssl=True,
                dead_letter_queue=sqs.DeadLetterQueue(queue=dead[attr], max_receive_count=QUEUE_MAX_RECEIVES),
            )
        if "bulletin_queue" in queues:
            self.bucket.add_event_notification(
                s3.EventType.OBJECT_CREATED,
                s3n.SqsDestination(queues["bulletin_queue"]),
                s3.NotificationKeyFilter(prefix="bulletins/"),
            )
        return queues, dead

    def _event_bus(self) -> tuple[events.EventBus, sqs.Queue]:
        """The platform bus (BulletinPublished goes there) and the rule sending urgent ones to the push queue.

        The pattern is the code's own (`store.events.URGENT_PATTERN`, which the local stack installs
        too); the SQS target adds the queue policy that lets this rule, and only it, send. Events
        EventBridge cannot deliver after its retries land in a dead-letter queue of their own.
        """
        from chalicelib.store import events as app_events

        bus = events.EventBus(self, "EventBus", event_bus_name=f"{self.prefix}events")
        undelivered = self._dlq("urgent-push-delivery-dlq")
        events.Rule(
            self,
            "UrgentPushRule",
            rule_name=f"{self.prefix}events-urgent-push",  # store.events.urgent_rule_name()
            description="Urgent bulletins that just became urgent go to the push queue",
            event_bus=bus,
            event_pattern=events.EventPattern(
                **{key.replace("-", "_"): value for key, value in app_events.URGENT_PATTERN.items()}
            ),
            targets=[targets.SqsQueue(self.queues["urgent_push_queue"], dead_letter_queue=undelivered)],
        )
        return bus, undelivered

    def _report_keys(self) -> tuple[kms.Key, kms.Key]:
        """The reports key (symmetric: the API may Encrypt only) and the HMAC_256 lookup key (GenerateMac)."""
        reports = kms.Key(
            self,
            "ReportsKey",
            alias=f"alias/{self.prefix}reports",
            enable_key_rotation=True,
            description="Encrypts the identity of people who file reports; handlers cannot decrypt",
            removal_policy=self.removal,
        )
        lookup = kms.Key(
            self,
            "ReportsLookupKey",
            alias=f"alias/{self.prefix}reports-lookup",
            key_spec=kms.KeySpec.HMAC_256,
            key_usage=kms.KeyUsage.GENERATE_VERIFY_MAC,
            # HMAC keys cannot rotate, and must not: a new key would lose every reporter's own reports
            description="Keyed MAC of a reporter's number: lists their own anonymous reports",
            removal_policy=self.removal,
        )
        return reports, lookup

    def _user_pool(self) -> tuple[cognito.UserPool, cognito.UserPoolClient]:
        pool = cognito.UserPool(
            self,
            "Members",
            user_pool_name=f"{self.prefix}members",
            self_sign_up_enabled=False,  # accounts come from activation codes handed out by staff
            sign_in_aliases=cognito.SignInAliases(username=True),
            password_policy=cognito.PasswordPolicy(
                min_length=10,
                require_digits=False,
                require_lowercase=False,
                require_symbols=False,
                require_uppercase=False,
            ),
            account_recovery=cognito.AccountRecovery.NONE,
            removal_policy=self.removal,
            deletion_protection=self.prod,
        )
        client = pool.add_client(
            "Mobile",
            generate_secret=False,
            auth_flows=cognito.AuthFlow(user_password=True),
            access_token_validity=cdk.Duration.hours(1),
            refresh_token_validity=cdk.Duration.days(30),
            prevent_user_existence_errors=True,
        )
        return pool, client

    # ---- the Chalice app ---------------------------------------------------------------------------

    @staticmethod
    def _function_names(app: Any) -> list[str]:
        names = [API_FUNCTION] + [source.name for source in app.event_sources]
        missing = [n for n in names if n not in ACCESS]
        if missing:
            raise ValueError(f"declare what {', '.join(missing)} may touch in infra/access.py")
        return names

    def _role(self, name: str) -> iam.Role:
        return iam.Role(
            self,
            f"Role{camel(name)}",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            managed_policies=[
                iam.ManagedPolicy.from_aws_managed_policy_name("service-role/AWSLambdaBasicExecutionRole"),
                iam.ManagedPolicy.from_aws_managed_policy_name("AWSXRayDaemonWriteAccess"),
            ],
        )

    def _environment(self) -> dict[str, str]:
        env = {
            "MMP_STAGE": self.stage,
            "MMP_TABLE_PREFIX": self.prefix,
            "MMP_CONTENT_BUCKET": self.bucket.bucket_name,
            "MMP_USER_POOL_ID": self.pool.user_pool_id,
            "MMP_USER_POOL_CLIENT_ID": self.pool_client.user_pool_client_id,
            "MMP_CURSOR_SECRET": self.cursor_secret.secret_value.unsafe_unwrap(),
            "MMP_REPORTS_KEY_ID": self.reports_key.key_arn,
            "MMP_REPORTS_LOOKUP_KEY_ID": self.lookup_key.key_arn,
            "MMP_EVENT_BUS": self.bus.event_bus_name,
            "MMP_BULLETIN_TOPIC_PREFIX": self.topic_prefix,
            "MMP_TRACING": "1" if self.prod else "0",
            "MMP_FEED_HEAD_TTL": "0.5",  # seconds a container reuses a scope's first feed page
            "POWERTOOLS_SERVICE_NAME": "mmp",
            "POWERTOOLS_METRICS_NAMESPACE": "MobileMemberPlatform",
            "POWERTOOLS_LOG_LEVEL": "INFO",
        }
        for logical, table in self.tables.items():
            if table.table_stream_arn:
                env[f"MMP_STREAM_ARN_{logical.upper()}"] = table.table_stream_arn
        for attr, queue in self.queues.items():
            env[f"MMP_{attr.upper()}"] = queue.queue_name
        return env

    def _chalice(self) -> Any:
        from chalice.cdk import Chalice

        return Chalice(
            self,
            "Api",
            source_dir=str(ROOT),
            stage_config={
                "api_gateway_stage": "api",
                "autogen_policy": False,
                "manage_iam_role": False,
                # dependencies in a layer cached on requirements.txt alone: a change to the code
                # repackages only the code, so synth needs no package index after the first time
                "automatic_layer": True,
                "iam_role_arn": self.roles[API_FUNCTION].role_arn,
                "xray": True,
                "lambda_timeout": LAMBDA_TIMEOUT,
                "lambda_memory_size": 1024,
                "environment_variables": self._environment(),
            },
        )

    def _wire_event_sources(self, app: Any) -> set[str]:
        """Point each consumer at the real stream or queue, with partial batch failures; return the
        names of the stream consumers.

        Chalice builds the event sources from what the app named at import time (a placeholder stream
        ARN, the queue names of the synth process's settings), so each is replaced here by the stack's
        own resource, and checked against what `infra/access.py` declares for the function.
        """
        from chalice.app import DynamoDBEventConfig, SQSEventConfig

        from chalicelib.config import get_settings

        settings = get_settings()  # the settings the app was imported with
        queue_of = {getattr(settings, attr): attr for attr in self.queues}
        streamed = set()
        for source in app.event_sources:
            function = self.chalice.get_resource(camel(source.name))
            # Chalice's stage config would give every function the API's role: each gets its own
            function.add_property_override("Role", self.roles[source.name].role_arn)
            access = ACCESS[source.name]
            if isinstance(source, DynamoDBEventConfig):
                logical = _table_of(source.stream_arn, self.prefix)
                _must_match(source.name, "streams", access.streams, logical)
                table = self.tables[logical]
                event = f"Events.{camel(source.name)}DynamodbEventSource.Properties"
                function.add_property_override(f"{event}.Stream", table.table_stream_arn)
                function.add_property_override(f"{event}.StartingPosition", "TRIM_HORIZON")
                function.add_property_override(f"{event}.FunctionResponseTypes", ["ReportBatchItemFailures"])
                function.add_property_override(f"{event}.BisectBatchOnFunctionError", True)
                function.add_property_override(f"{event}.MaximumRetryAttempts", 5)
                function.add_property_override(f"{event}.MaximumRecordAgeInSeconds", 24 * 3600)
                function.add_property_override(
                    f"{event}.DestinationConfig", {"OnFailure": {"Destination": self.failures.queue_arn}}
                )
                streamed.add(source.name)
            elif isinstance(source, SQSEventConfig):
                if source.queue not in queue_of:
                    raise ValueError(
                        f"{source.name} reads queue {source.queue!r}, which no *_queue setting names"
                    )
                attr = queue_of[source.queue]
                _must_match(source.name, "queues", access.queues, attr)
                event = f"Events.{camel(source.name)}SqsEventSource.Properties"
                function.add_property_override(f"{event}.Queue", self.queues[attr].queue_arn)
                function.add_property_override(f"{event}.FunctionResponseTypes", ["ReportBatchItemFailures"])
            elif access.streams or access.queues:
                raise ValueError(f"{source.name} is a schedule: it has no stream or queue in infra/access.py")
        return streamed

    def _api_settings(self) -> None:
        api = self.chalice.get_resource("RestAPI")
        # gzip bodies leave the function base64-encoded; API Gateway turns them back into bytes
        api.add_property_override("DefinitionBody.x-amazon-apigateway-binary-media-types", ["*/*"])
        api.add_property_override(
            "DefinitionBody.x-amazon-apigateway-gateway-responses",
            {
                kind: {
                    "statusCode": str(status),
                    "responseParameters": {
                        "gatewayresponse.header.Content-Type": "'application/problem+json'"
                    },
                    "responseTemplates": {"application/json": _PROBLEM % status},
                }
                for kind, status in (
                    ("MISSING_AUTHENTICATION_TOKEN", 404),  # what API Gateway says for an unknown path
                    ("THROTTLED", 429),
                    ("REQUEST_TOO_LARGE", 413),
                    ("DEFAULT_4XX", 400),
                    ("DEFAULT_5XX", 502),
                )
            },
        )
        api.add_property_override("Name", f"{self.prefix}api")
        rate, burst = THROTTLE[self.stage]
        api.add_property_override("TracingEnabled", True)
        api.add_property_override(
            "MethodSettings",
            [
                {
                    "ResourcePath": "/*",
                    "HttpMethod": "*",
                    "ThrottlingRateLimit": rate,
                    "ThrottlingBurstLimit": burst,
                    "MetricsEnabled": True,
                }
            ],
        )

    def _grant_all(self) -> None:
        for name in self.functions:
            self._grant(self.roles[name], ACCESS[name])

    def _grant(self, role: iam.Role, access: Access) -> None:
        every = ALL_TABLES in access.tables
        rw = list(self.tables) if every else list(access.tables)
        unknown = {*rw, *access.read_tables, *access.write_tables, *access.streams} - self.tables.keys()
        if unknown:
            raise ValueError(f"infra/access.py names tables no model defines: {', '.join(sorted(unknown))}")
        readable = [*rw, *access.read_tables]
        writable = [*rw, *access.write_tables]
        if readable:
            arns = [self.tables[t].table_arn for t in readable]
            role.add_to_policy(
                iam.PolicyStatement(actions=[*_READ, "dynamodb:DescribeTable"], resources=arns)
            )
            indexes = [f"{self.tables[t].table_arn}/index/*" for t in readable if t in self.indexed]
            if indexes:
                role.add_to_policy(iam.PolicyStatement(actions=["dynamodb:Query"], resources=indexes))
        if writable:
            arns = [self.tables[t].table_arn for t in writable]
            role.add_to_policy(
                iam.PolicyStatement(actions=[*_WRITE, "dynamodb:DescribeTable"], resources=arns)
            )
        for logical in access.streams:
            self.tables[logical].grant_stream_read(role)
        if access.streams:
            self.failures.grant_send_messages(role)  # the on-failure destination of its stream
        for attr in access.queues:
            self.queues[attr].grant_consume_messages(role)
        for attr in access.send_queues:
            self.queues[attr].grant_send_messages(role)
        self._grant_bucket(role, access)
        if access.cognito_admin:
            role.add_to_policy(
                iam.PolicyStatement(
                    actions=[
                        "cognito-idp:AdminCreateUser",
                        "cognito-idp:AdminSetUserPassword",
                        "cognito-idp:InitiateAuth",
                    ],
                    resources=[self.pool.user_pool_arn],
                )
            )
        if access.reports_key_encrypt:
            from chalicelib.store.kms import encryption_context

            # Encrypt only, and only for ciphertexts bound to a case (store.kms.encryption_context)
            purpose = encryption_context("")["purpose"]
            role.add_to_policy(
                iam.PolicyStatement(
                    actions=["kms:Encrypt"],
                    resources=[self.reports_key.key_arn],
                    conditions={"StringEquals": {"kms:EncryptionContext:purpose": purpose}},
                )
            )
        if access.reports_lookup_mac:
            role.add_to_policy(
                iam.PolicyStatement(actions=["kms:GenerateMac"], resources=[self.lookup_key.key_arn])
            )
        if access.put_events:
            self.bus.grant_put_events_to(role)
        if access.bulletin_topics:
            # A name-prefix wildcard, on purpose: topics are per scope (`{prefix}{scope}`: the centre and
            # 3,000+ division codes) and created by the code on first use (store.events.topic_arn), so
            # they cannot be listed here; the prefix confines the function to the platform's own topics.
            topics = self.format_arn(
                service="sns", resource=f"{self.topic_prefix}*", arn_format=cdk.ArnFormat.NO_RESOURCE_NAME
            )
            role.add_to_policy(
                iam.PolicyStatement(actions=["sns:CreateTopic", "sns:Publish"], resources=[topics])
            )

    def _grant_bucket(self, role: iam.Role, access: Access) -> None:
        """Object rights on the content bucket per key prefix; reading also lists the bucket, or S3 would
        answer a missing key with AccessDenied where the code expects NoSuchKey."""
        objects = self.bucket.arn_for_objects
        for actions, prefixes in (
            (["s3:GetObject"], access.bucket_read),
            (["s3:PutObject"], access.bucket_write),
            (["s3:DeleteObject"], access.bucket_delete),
        ):
            if prefixes:
                role.add_to_policy(
                    iam.PolicyStatement(actions=actions, resources=[objects(f"{p}*") for p in prefixes])
                )
        if access.bucket_read:
            role.add_to_policy(
                iam.PolicyStatement(actions=["s3:ListBucket"], resources=[self.bucket.bucket_arn])
            )

    def _deny_decrypt(self) -> None:
        """Belt and braces: the reports key's own policy refuses Decrypt to every function's role, so no
        later grant (a managed policy, say) can let the app reveal a reporter."""
        self.reports_key.add_to_resource_policy(
            iam.PolicyStatement(
                effect=iam.Effect.DENY,
                principals=[iam.AnyPrincipal()],
                actions=["kms:Decrypt", "kms:ReEncryptFrom"],
                resources=["*"],
                conditions={"ArnEquals": {"aws:PrincipalArn": [r.role_arn for r in self.roles.values()]}},
            )
        )

    # ---- alarms ------------------------------------------------------------------------------------

    def _alarms(self) -> None:
        api_name = f"{self.prefix}api"
        self._alarm(
            "Api5xx",
            cw.Metric(
                namespace="AWS/ApiGateway",
                metric_name="5XXError",
                dimensions_map={"ApiName": api_name},
                statistic="Sum",
                period=cdk.Duration.minutes(5),
            ),
            threshold=5,
        )
        for name in self.functions:
            ref = self.chalice.get_resource(camel(name) if name != API_FUNCTION else "APIHandler").ref
            for metric, threshold in (("Errors", 1), ("Throttles", 1)):
                self._alarm(
                    f"{camel(name)}{metric}",
                    cw.Metric(
                        namespace="AWS/Lambda",
                        metric_name=metric,
                        dimensions_map={"FunctionName": ref},
                        statistic="Sum",
                        period=cdk.Duration.minutes(5),
                    ),
                    threshold=threshold,
                )
            if name in self.stream_consumers:
                self._alarm(
                    f"{camel(name)}IteratorAge",
                    cw.Metric(
                        namespace="AWS/Lambda",
                        metric_name="IteratorAge",
                        dimensions_map={"FunctionName": ref},
                        statistic="Maximum",
                        period=cdk.Duration.minutes(5),
                    ),
                    threshold=60_000,  # a minute behind the stream
                )
        for queue in [self.failures, self.urgent_delivery_failures, *self.dead_letters.values()]:
            self._alarm(
                f"{queue.node.id}Depth",
                queue.metric_approximate_number_of_messages_visible(
                    period=cdk.Duration.minutes(5), statistic="Maximum"
                ),
                threshold=1,
            )

    def _alarm(self, name: str, metric: cw.Metric, *, threshold: float) -> cw.Alarm:
        return cw.Alarm(
            self,
            f"Alarm{name}",
            metric=metric,
            threshold=threshold,
            evaluation_periods=1,
            comparison_operator=cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cw.TreatMissingData.NOT_BREACHING,
        )

    def _api_url(self) -> str:
        return cdk.Fn.sub(
            "https://${RestAPI}.execute-api.${AWS::Region}.${AWS::URLSuffix}/api/",
            {"RestAPI": self.chalice.get_resource("RestAPI").ref},
        )


def _chalice_app() -> Any:
    """The Chalice app object, imported as Lambda would (its event sources name the consumers)."""
    import app as chalice_app

    return chalice_app.app


def _must_match(function: str, kind: str, declared: tuple[str, ...], source: str) -> None:
    if tuple(declared) != (source,):
        raise ValueError(
            f"{function} reads {kind} {source!r} (its Chalice event source) but infra/access.py declares "
            f"{kind}={tuple(declared)!r}"
        )


def _table_of(stream_arn: str, prefix: str) -> str:
    """Logical table name inside a (placeholder) stream ARN: `.../table/mmp-x-members/stream/...`."""
    physical = stream_arn.split(":table/", 1)[1].split("/", 1)[0]
    return physical.split("-", 2)[2] if physical.count("-") >= 2 else physical
