"""Publishing through S3: upload URLs for editors, whole editions published at once, corrections, push."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import threading
from datetime import datetime
from unittest import mock
from urllib.parse import parse_qsl, quote, urlparse

import requests
from botocore.auth import S3SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from chalicelib.config import get_settings
from tests.integration import content_setup as c


def upload_url(platform, token, scope="central", edition_id=None):
    return platform.post(
        "/v1/bulletins/upload-url", {"scope": scope, "edition_id": edition_id or c.new_id()}, token
    )


# ---- upload URLs ----------------------------------------------------------------------------------


def test_an_editor_gets_a_presigned_put_url_for_exactly_that_key(platform):
    _, token = c.editor(platform, "central")
    edition_id = c.new_id()
    resp = upload_url(platform, token, "central", edition_id)
    assert resp.status_code == 201, resp.body
    body = resp.json_body
    key = f"bulletins/central/{edition_id}.json"
    assert body["key"] == key and body["method"] == "PUT" and body["expires_in"] == 900
    assert body["rejection_key"] == f"rejections/{key}.json"
    assert urlparse(body["upload_url"]).path.endswith(f"/{key}")
    assert "X-Amz-Signature=" in body["upload_url"]
    doc = c.edition(edition_id)
    put = requests.put(body["upload_url"], data=json.dumps(doc).encode(), headers=body["headers"], timeout=10)
    assert put.status_code == 200
    c.deliver_uploads(platform)
    assert platform.get(f"/v1/bulletins/{edition_id}", token).json_body["revision"] == 1


def _sigv4_accepts(url: str, method: str, path: str, headers: dict) -> bool:
    """Would S3 accept a request made with this presigned URL? SigV4 query auth, recomputed here.

    An independent check of what moto does not verify: the signature covers the method, the path
    (so the key), the query and every header named in X-Amz-SignedHeaders, under the signing key
    derived from the secret of the credentials that signed it.
    """
    parts = urlparse(url)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    signature = query.pop("X-Amz-Signature")
    access_key, day, region, service, _ = query["X-Amz-Credential"].split("/")
    assert access_key == os.environ["AWS_ACCESS_KEY_ID"]
    signed = query["X-Amz-SignedHeaders"].split(";")
    sent = {k.lower(): v.strip() for k, v in headers.items()} | {"host": parts.netloc}
    if any(name not in sent for name in signed):
        return False  # a signed header that the request does not send
    canonical = "\n".join(
        [
            method,
            path,
            "&".join(f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}" for k, v in sorted(query.items())),
            "".join(f"{name}:{sent[name]}\n" for name in signed),
            ";".join(signed),
            "UNSIGNED-PAYLOAD",
        ]
    )
    to_sign = "\n".join(
        [
            "AWS4-HMAC-SHA256",
            query["X-Amz-Date"],
            f"{day}/{region}/{service}/aws4_request",
            hashlib.sha256(canonical.encode()).hexdigest(),
        ]
    )
    key = ("AWS4" + os.environ["AWS_SECRET_ACCESS_KEY"]).encode()
    for part in (day, region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    expected = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature)


def test_the_upload_url_signature_binds_the_key_the_method_and_the_content_type(platform):
    """moto accepts any signature, so the binding is checked by recomputing SigV4 for other requests."""
    _, token = c.editor(platform, "central")
    edition_id = c.new_id()
    body = upload_url(platform, token, "central", edition_id).json_body
    url, headers = body["upload_url"], body["headers"]
    path = urlparse(url).path
    assert path.endswith(f"/bulletins/central/{edition_id}.json")
    assert dict(parse_qsl(urlparse(url).query))["X-Amz-SignedHeaders"] == "content-type;host"
    assert headers == {"Content-Type": "application/json"}
    # the request the URL was issued for verifies ...
    assert _sigv4_accepts(url, "PUT", path, headers)
    # ... and no other: another edition, another scope, another name, a GET, another content type
    for other in (
        path.replace(edition_id, c.new_id()),
        path.replace("/central/", "/110000/"),
        path.replace(".json", ".html"),
        path.rsplit("/", 1)[0] + "/",
    ):
        assert not _sigv4_accepts(url, "PUT", other, headers), other
    assert not _sigv4_accepts(url, "GET", path, headers)
    assert not _sigv4_accepts(url, "PUT", path, {"Content-Type": "text/html"})
    assert not _sigv4_accepts(url, "PUT", path, {})
    assert not _sigv4_accepts(url.replace("X-Amz-Expires=900", "X-Amz-Expires=604800"), "PUT", path, headers)
    # no size can be signed into a PUT URL: ingest enforces the 2 MB (the "a 3 MB file" rejection)
    assert body["max_bytes"] == 2 * 1024 * 1024
    # the signature is the one botocore computes for this key, and a different one for any other
    query = dict(parse_qsl(urlparse(url).query))
    when = datetime.strptime(query["X-Amz-Date"], "%Y%m%dT%H%M%SZ")

    def botocore_signature(for_path):
        request = AWSRequest("PUT", f"{urlparse(url).scheme}://{urlparse(url).netloc}{for_path}", headers)
        credentials = Credentials(
            os.environ["AWS_ACCESS_KEY_ID"],
            os.environ["AWS_SECRET_ACCESS_KEY"],
            os.environ.get("AWS_SESSION_TOKEN"),
        )
        region = query["X-Amz-Credential"].split("/")[2]
        auth = S3SigV4QueryAuth(credentials, "s3", region, expires=int(query["X-Amz-Expires"]))
        with mock.patch("botocore.auth.get_current_datetime", return_value=when):
            auth.add_auth(request)
        return dict(parse_qsl(urlparse(request.url).query))["X-Amz-Signature"]

    assert botocore_signature(path) == query["X-Amz-Signature"]
    assert botocore_signature(path.replace(edition_id, c.new_id())) != query["X-Amz-Signature"]


def test_editors_of_a_department_publish_only_as_that_department(platform):
    _, county_editor = c.editor(platform, "div-110105")
    assert upload_url(platform, county_editor, "110105").status_code == 201
    assert upload_url(platform, county_editor, "110108").status_code == 403  # another county
    assert upload_url(platform, county_editor, "110000").status_code == 403  # the province above
    assert upload_url(platform, county_editor, "central").status_code == 403
    _, central_editor = c.editor(platform, "central")
    assert upload_url(platform, central_editor, "110105").status_code == 403  # the scope is exact


def test_members_and_staff_who_are_not_editors_get_no_upload_url(platform):
    _, member = platform.new_member()
    resp = upload_url(platform, member)
    assert resp.status_code == 403 and resp.headers["Content-Type"] == "application/problem+json"
    assert upload_url(platform, platform.admin_token).status_code == 403  # staff, not editor
    assert (
        platform.post("/v1/bulletins/upload-url", {"scope": "central", "edition_id": "e1"}).status_code == 401
    )


def test_upload_url_input_is_validated(platform):
    _, token = c.editor(platform, "central")
    for body in [
        {"scope": "central"},
        {"scope": "central", "edition_id": "../x"},
        {"scope": "beijing", "edition_id": "e1"},
        {"scope": "central", "edition_id": "e1", "extra": 1},
        {"scope": "central", "edition_id": "x" * 65},
    ]:
        assert platform.post("/v1/bulletins/upload-url", body, token).status_code == 400, body
    unknown = upload_url(platform, token, "999999")
    assert unknown.status_code == 400 and unknown.json_body["errors"][0]["field"] == "scope"


def test_an_edition_id_of_another_scope_is_a_conflict(platform):
    doc = c.publish(platform, "central")
    _, token = c.editor(platform, "div-110000")
    assert upload_url(platform, token, "110000", doc["edition_id"]).status_code == 409


def test_editors_see_why_an_upload_was_rejected(platform):
    _, token = c.editor(platform, "central")
    edition_id = c.new_id()
    c.upload("central", edition_id, c.edition(edition_id, kind="daily"))
    c.deliver_uploads(platform)
    status = platform.get(f"/v1/bulletin-uploads/central/{edition_id}", token).json_body
    assert status["published_revision"] is None
    assert status["rejection"]["problems"][0]["field"] == "kind"
    _, member = platform.new_member()
    assert platform.get(f"/v1/bulletin-uploads/central/{edition_id}", member).status_code == 403


# ---- publishing -----------------------------------------------------------------------------------


def test_an_uploaded_edition_is_published_whole(platform):
    _, token = platform.new_member()
    doc = c.publish(platform)
    resp = platform.get(f"/v1/bulletins/{doc['edition_id']}", token)
    assert resp.status_code == 200, resp.body
    body = resp.json_body
    assert body["revision"] == 1 and body["scope"] == "central" and body["kind"] == "weekly"
    assert [a["article_id"] for a in body["articles"]] == [a["article_id"] for a in doc["articles"]]
    assert body["sections"] == ["theory", "history"]
    art = platform.get(f"/v1/articles/{doc['articles'][0]['article_id']}", token).json_body
    assert art["body_html"] == "<p>正文 <strong>重点</strong></p>\n"
    assert art["body_markdown"] == doc["articles"][0]["body_markdown"]
    assert art["edition_id"] == doc["edition_id"] and art["section"] == "theory"


def test_one_transaction_publishes_the_whole_edition(platform):
    """Readers never see half an edition: articles, feed entries and the edition item change together."""
    calls = []

    def count(event_name, **kwargs):
        calls.append(event_name.rsplit(".", 1)[-1])

    from chalicelib.store import models

    events = models.Edition._get_connection().connection.client.meta.events
    events.register("before-call.dynamodb", count)
    try:
        c.publish(platform, doc=c.edition(articles=[c.article() for _ in range(20)]))
    finally:
        events.unregister("before-call.dynamodb", count)
    writes = [
        name for name in calls if name in ("PutItem", "UpdateItem", "TransactWriteItems", "BatchWriteItem")
    ]
    assert writes == ["TransactWriteItems", "UpdateItem"], calls  # the edition, then "announced"


def test_readers_never_see_an_article_behind_its_edition(platform):
    doc = c.edition(articles=[c.article() for _ in range(10)])
    c.publish(platform, doc=doc)
    _, token = platform.new_member()
    stop, seen = threading.Event(), []

    def read():
        from chalicelib.store import content

        while not stop.is_set():
            edition = content.get_edition(doc["edition_id"])
            for a in edition.articles:
                article = content.get_article(a["article_id"])
                seen.append((edition.revision, article.revision, article.title == a["title"]))

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for i in range(5):
            c.upload(
                "central",
                doc["edition_id"],
                dict(doc, articles=[dict(a, title=f"{a['title']} r{i}") for a in doc["articles"]]),
            )
            c.deliver_uploads(platform)
    finally:
        stop.set()
        reader.join()
    assert seen and all(article_rev >= edition_rev for edition_rev, article_rev, _ in seen)


def test_a_correction_is_a_new_revision_and_readers_see_the_latest(platform):
    _, token = platform.new_member()
    keep, drop = c.article(), c.article()
    doc = c.publish(platform, doc=c.edition(articles=[keep, drop]))
    added = c.article(section="basics")
    corrected = dict(doc, title="更正版", articles=[dict(keep, body_markdown="改正后的正文"), added])
    c.upload("central", doc["edition_id"], corrected)
    c.deliver_uploads(platform)
    body = platform.get(f"/v1/bulletins/{doc['edition_id']}", token).json_body
    assert (body["revision"], body["title"]) == (2, "更正版")
    assert [a["article_id"] for a in body["articles"]] == [keep["article_id"], added["article_id"]]
    article = platform.get(f"/v1/articles/{keep['article_id']}", token).json_body
    assert (article["revision"], article["body_markdown"]) == (2, "改正后的正文")
    assert platform.get(f"/v1/articles/{drop['article_id']}", token).status_code == 404
    assert body["published_at"] < body["updated_at"]


def test_uploading_the_same_file_again_is_a_new_revision_but_a_redelivery_is_not(platform):
    from chalicelib.local.pump import lambda_sqs_record

    _, token = platform.new_member()
    doc = c.edition()
    c.upload("central", doc["edition_id"], doc)
    sqs = c.sqs()
    url = sqs.get_queue_url(QueueName=get_settings().bulletin_queue)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    message = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1)["Messages"][0]
    sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    event = {"Records": [lambda_sqs_record(message, arn)]}
    for _ in range(3):  # the same notification delivered three times
        platform.client.lambda_.invoke("bulletin_ingest", event)
    assert platform.get(f"/v1/bulletins/{doc['edition_id']}", token).json_body["revision"] == 1
    import time

    time.sleep(1.1)  # S3 times are to the second: a new upload of the same bytes is a new object
    c.publish(platform, doc=doc)
    assert platform.get(f"/v1/bulletins/{doc['edition_id']}", token).json_body["revision"] == 2


def test_test_events_and_other_keys_are_ignored(platform):
    answer = platform.client.lambda_.invoke(
        "bulletin_ingest",
        {
            "Records": [
                _sqs_record(json.dumps({"Service": "Amazon S3", "Event": "s3:TestEvent"})),
                _sqs_record("{"),
            ]
        },
    ).payload
    assert answer == {"batchItemFailures": []}


def _sqs_record(body):
    return {
        "messageId": c.new_id("m"),
        "receiptHandle": "r",
        "body": body,
        "attributes": {},
        "messageAttributes": {},
        "md5OfBody": "",
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:q",
        "awsRegion": "us-east-1",
    }


def test_a_key_with_spaces_and_unicode_arrives_decoded(platform):
    key = "bulletins/central/名 字.json"
    c.put(key, c.edition())
    c.deliver_uploads(platform)
    assert c.rejection(key) is not None  # found (decoded), and refused: not a valid edition id


# ---- BulletinPublished and urgent push ------------------------------------------------------------


def _subscribe_phone(scope):
    """An SQS queue subscribed to the scope's push topic, standing in for the phones."""
    from chalicelib.store import events
    from chalicelib.store.clients import client

    sqs = c.sqs()
    url = sqs.create_queue(QueueName=c.new_id("phones"))["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    client("sns").subscribe(TopicArn=events.topic_arn(scope), Protocol="sqs", Endpoint=arn)
    return url


def _received(url):
    messages = c.sqs().receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages") or []
    return [json.loads(json.loads(m["Body"])["Message"]) for m in messages]


def test_an_urgent_bulletin_reaches_the_scope_topic_at_once(platform):
    c.deliver_urgent(platform)
    phones = _subscribe_phone("central")
    doc = c.publish(platform, doc=c.edition(kind="urgent"))
    answers = c.deliver_urgent(platform)
    assert answers == [{"batchItemFailures": []}]
    pushed = _received(phones)
    assert [(p["edition_id"], p["kind"], p["scope"]) for p in pushed] == [
        (doc["edition_id"], "urgent", "central")
    ]
    # a correction of it, and a weekly edition, push nothing
    c.upload("central", doc["edition_id"], dict(doc, title="更正"))
    c.deliver_uploads(platform)
    c.publish(platform)
    c.deliver_urgent(platform)
    assert _received(phones) == []


def test_each_urgent_revision_is_pushed_once_even_when_redelivered(platform):
    from chalicelib.services.bulletins import push_bulletin

    phones = _subscribe_phone("110000")
    detail = {
        "edition_id": c.new_id(),
        "scope": "110000",
        "kind": "urgent",
        "newly_urgent": True,
        "revision": 1,
    }
    assert push_bulletin(detail) is not None
    assert push_bulletin(detail) is None
    assert len(_received(phones)) == 1


def test_a_failed_announcement_is_repaired_by_the_queue_retry(platform, monkeypatch):
    from chalicelib.store import events

    real = events.put_event
    failures = []

    def flaky(*args, **kwargs):
        if not failures:
            failures.append(1)
            raise events.EventNotSent("ThrottlingException")
        return real(*args, **kwargs)

    monkeypatch.setattr(events, "put_event", flaky)
    c.deliver_urgent(platform)
    doc = c.edition(kind="urgent")
    c.upload("central", doc["edition_id"], doc)
    from chalicelib.local.pump import lambda_sqs_record

    sqs = c.sqs()
    url = sqs.get_queue_url(QueueName=get_settings().bulletin_queue)["QueueUrl"]
    message = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1)["Messages"][0]
    sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    event = {"Records": [lambda_sqs_record(message, "arn:aws:sqs:us-east-1:123456789012:q")]}
    first = platform.client.lambda_.invoke("bulletin_ingest", event).payload
    assert first == {"batchItemFailures": [{"itemIdentifier": message["MessageId"]}]}
    assert c.deliver_urgent(platform) == []  # published, not yet announced
    second = platform.client.lambda_.invoke("bulletin_ingest", event).payload
    assert second == {"batchItemFailures": []}
    _, token = platform.new_member()
    assert platform.get(f"/v1/bulletins/{doc['edition_id']}", token).json_body["revision"] == 1
    assert len(c.deliver_urgent(platform)) == 1


# ---- articles a correction drops ------------------------------------------------------------------


def _queued_upload_event():
    """The upload notification waiting in the queue, taken off it, as the Lambda event that carries it."""
    from chalicelib.local.pump import lambda_sqs_record

    sqs = c.sqs()
    url = sqs.get_queue_url(QueueName=get_settings().bulletin_queue)["QueueUrl"]
    message = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1)["Messages"][0]
    sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return {"Records": [lambda_sqs_record(message, "arn:aws:sqs:us-east-1:123456789012:q")]}


def _failing_drops(monkeypatch, times=1):
    """The step that deletes dropped articles fails `times` times (a throttle, or Lambda timing out)."""
    from chalicelib.store import content

    real, failures = content.delete_articles, []

    def flaky(*args, **kwargs):
        if len(failures) < times:
            failures.append(1)
            raise RuntimeError("the Lambda timed out while deleting dropped articles")
        return real(*args, **kwargs)

    monkeypatch.setattr(content, "delete_articles", flaky)
    return failures


def test_articles_a_correction_dropped_are_deleted_by_the_retry_when_the_drop_step_failed(
    platform, monkeypatch
):
    from chalicelib.store import content

    _, token = platform.new_member()
    keep, drop = c.article(), c.article()
    doc = c.publish(platform, doc=c.edition(articles=[keep, drop]))
    failures = _failing_drops(monkeypatch)
    c.upload("central", doc["edition_id"], dict(doc, articles=[keep]))
    event = _queued_upload_event()
    first = platform.client.lambda_.invoke("bulletin_ingest", event).payload
    assert failures and len(first["batchItemFailures"]) == 1  # published, the drop not done
    assert platform.get(f"/v1/bulletins/{doc['edition_id']}", token).json_body["revision"] == 2
    assert content.get_edition(doc["edition_id"], consistent=True).pending_drops == (drop["article_id"],)
    second = platform.client.lambda_.invoke("bulletin_ingest", event).payload  # the queue's retry
    assert second == {"batchItemFailures": []}
    assert platform.get(f"/v1/articles/{drop['article_id']}", token).status_code == 404
    assert platform.get(f"/v1/articles/{keep['article_id']}", token).status_code == 200
    edition = content.get_edition(doc["edition_id"], consistent=True)
    assert edition.revision == 2 and edition.pending_drops == ()


def test_a_later_correction_finishes_the_drops_an_earlier_one_left(platform, monkeypatch):
    from chalicelib.store import content

    _, token = platform.new_member()
    a, b, d = c.article(), c.article(), c.article()
    doc = c.publish(platform, doc=c.edition(articles=[a, b, d]))
    _failing_drops(monkeypatch, times=100)
    c.publish(platform, doc=dict(doc, articles=[a, d]))  # drops b; fails (and fails on retry)
    c.upload("central", doc["edition_id"], dict(doc, articles=[a, d], title="x" * 300))
    c.deliver_uploads(platform)  # rejected: still fails to drop
    assert platform.get(f"/v1/articles/{b['article_id']}", token).status_code == 200
    assert content.get_edition(doc["edition_id"], consistent=True).pending_drops == (b["article_id"],)
    monkeypatch.undo()
    c.publish(platform, doc=dict(doc, articles=[d]))  # drops a, and b is still to drop
    for gone in (a, b):
        assert platform.get(f"/v1/articles/{gone['article_id']}", token).status_code == 404
    assert platform.get(f"/v1/articles/{d['article_id']}", token).json_body["revision"] == 3
    assert content.get_edition(doc["edition_id"], consistent=True).pending_drops == ()


def test_a_rejected_upload_finishes_the_drops_a_failed_step_left(platform, monkeypatch):
    from chalicelib.store import content

    _, token = platform.new_member()
    keep, drop = c.article(), c.article()
    doc = c.publish(platform, doc=c.edition(articles=[keep, drop]))
    _failing_drops(monkeypatch, times=100)
    c.publish(platform, doc=dict(doc, articles=[keep]))
    monkeypatch.undo()
    c.upload("central", doc["edition_id"], dict(doc, kind="daily"))
    c.deliver_uploads(platform)
    assert platform.get(f"/v1/articles/{drop['article_id']}", token).status_code == 404
    assert content.get_edition(doc["edition_id"], consistent=True).pending_drops == ()


def test_an_article_dropped_and_then_restored_is_kept(platform, monkeypatch):
    _, token = platform.new_member()
    keep, back = c.article(), c.article()
    doc = c.publish(platform, doc=c.edition(articles=[keep, back]))
    _failing_drops(monkeypatch, times=100)
    c.publish(platform, doc=dict(doc, articles=[keep]))
    monkeypatch.undo()
    c.publish(platform, doc=dict(doc, articles=[keep, dict(back, title="回来了")]))
    assert platform.get(f"/v1/articles/{back['article_id']}", token).json_body["title"] == "回来了"
