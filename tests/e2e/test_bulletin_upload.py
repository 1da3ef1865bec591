"""Bulletins over HTTP on the local stack: a presigned upload reaches the feed; urgent ones are pushed."""

from __future__ import annotations

import json
import secrets
import time
import urllib.request

import boto3

from tests.e2e.test_http import call, login


def editor_of_central(stack):
    """A new member who is an editor of the central department: their token."""
    admin = login(stack, stack.admin_number, stack.admin_password)
    _, _, branch = call(stack, "POST", "/v1/orgs", {"name": "编辑部支部", "parent_id": "div-110105"}, admin)
    _, _, created = call(
        stack,
        "POST",
        "/v1/members",
        {"name": "编辑", "region_code": "110105", "join_date": "2022-02-02", "branch_id": branch["org_id"]},
        admin,
    )
    number = created["registration_number"]
    call(
        stack,
        "POST",
        "/v1/auth/activate",
        {
            "registration_number": number,
            "activation_code": created["activation_code"],
            "password": "editor password",
        },
    )
    status, _, body = call(
        stack, "POST", "/v1/orgs/central/roles", {"registration_number": number, "role": "editor"}, admin
    )
    assert status == 201, body
    return login(stack, number, "editor password")


def edition(kind="weekly"):
    edition_id = f"e2e-{secrets.token_hex(4)}"
    return {
        "edition_id": edition_id,
        "kind": kind,
        "title": "端到端测试期",
        "articles": [
            {
                "article_id": f"{edition_id}-a1",
                "section": "theory",
                "title": "第一篇",
                "body_markdown": "**学习**",
            },
            {
                "article_id": f"{edition_id}-a2",
                "section": "history",
                "title": "第二篇",
                "body_markdown": "历史",
            },
        ],
    }


def presigned_upload(stack, token, doc):
    status, _, grant = call(
        stack,
        "POST",
        "/v1/bulletins/upload-url",
        {"scope": "central", "edition_id": doc["edition_id"]},
        token,
    )
    assert status == 201, grant
    put = urllib.request.Request(
        grant["upload_url"], data=json.dumps(doc).encode(), method=grant["method"], headers=grant["headers"]
    )
    with urllib.request.urlopen(put, timeout=10) as resp:
        assert resp.status == 200
    return grant


def test_a_presigned_upload_is_in_the_feed_within_2_seconds(local_stack):
    token = editor_of_central(local_stack)
    doc = edition()
    presigned_upload(local_stack, token, doc)
    uploaded = time.monotonic()
    found = None
    while time.monotonic() - uploaded < 2.0:
        status, _, feed = call(local_stack, "GET", "/v1/feed?limit=100", token=token)
        assert status == 200, feed
        found = next((e for e in feed["items"] if e["edition_id"] == doc["edition_id"]), None)
        if found:
            break
        time.sleep(0.05)
    elapsed = time.monotonic() - uploaded
    assert found is not None, f"not in the feed after {elapsed:.2f} s\n" + local_stack.log()[-3000:]
    assert found["article_count"] == 2 and found["revision"] == 1
    status, _, article = call(local_stack, "GET", f"/v1/articles/{doc['edition_id']}-a1", token=token)
    assert status == 200 and article["body_html"] == "<p><strong>学习</strong></p>\n"


def test_a_rejected_upload_leaves_its_reasons(local_stack):
    token = editor_of_central(local_stack)
    doc = edition()
    doc["articles"][0]["body_markdown"] = "<script>alert(1)</script>"
    presigned_upload(local_stack, token, doc)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        status, _, upload = call(
            local_stack, "GET", f"/v1/bulletin-uploads/central/{doc['edition_id']}", token=token
        )
        if status == 200 and upload["rejection"]:
            break
        time.sleep(0.1)
    assert upload["rejection"]["problems"][0]["field"] == "articles[0].body_markdown", local_stack.log()[
        -3000:
    ]
    assert call(local_stack, "GET", f"/v1/bulletins/{doc['edition_id']}", token=token)[0] == 404


def test_an_urgent_bulletin_is_pushed_to_the_central_topic(local_stack):
    aws = {
        "endpoint_url": local_stack.aws_endpoint,
        "region_name": "us-east-1",
        "aws_access_key_id": "testing",
        "aws_secret_access_key": "testing",
    }
    sns, sqs = boto3.client("sns", **aws), boto3.client("sqs", **aws)
    topic = sns.create_topic(Name="mmp-local-bulletins-central")["TopicArn"]
    url = sqs.create_queue(QueueName=f"phones-{secrets.token_hex(4)}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
    token = editor_of_central(local_stack)
    doc = edition("urgent")
    presigned_upload(local_stack, token, doc)
    pushed = []
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not pushed:
        for message in sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1).get("Messages", []):
            pushed.append(json.loads(json.loads(message["Body"])["Message"]))
    assert [p["edition_id"] for p in pushed] == [doc["edition_id"]], local_stack.log()[-3000:]
