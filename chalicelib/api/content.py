"""Content routes: upload URLs for editors, the feed, editions, articles and client-reported activity."""

from __future__ import annotations

from chalice import Blueprint

from chalicelib.api.http import Call, Created, Paged, endpoint
from chalicelib.api.schemas import content as s
from chalicelib.domain.errors import NotFound
from chalicelib.domain.identifiers import valid_id, valid_scope

bp = Blueprint(__name__)


def _id(call: Call, name: str, what: str) -> str:
    """A path id that could exist; anything else is simply not found (and never reaches DynamoDB)."""
    value = call.params[name]
    if not valid_id(value):
        raise NotFound(f"no {what} {value[:64]}")
    return value


@endpoint(
    bp,
    "/v1/bulletins/upload-url",
    "POST",
    summary="A presigned URL to upload an edition file (editors of the scope)",
    body=s.UploadUrlRequest,
    response=s.UploadUrl,
    status=201,
    idempotent=True,
    errors=(400, 401, 403, 409),
)
def bulletin_upload_url(call: Call) -> Created:
    from chalicelib.services.bulletins import upload_url

    return Created(upload_url(call.caller, call.body.scope, call.body.edition_id))


@endpoint(
    bp,
    "/v1/bulletin-uploads/{scope}/{edition_id}",
    summary="What an upload published, or why it was rejected (editors of the scope)",
    response=s.UploadStatus,
    errors=(401, 403, 404),
)
def bulletin_upload_status(call: Call) -> dict:
    from chalicelib.services.bulletins import upload_status

    scope = call.params["scope"]
    if not valid_scope(scope):
        raise NotFound(f"no scope {scope[:20]}")
    return upload_status(call.caller, scope, _id(call, "edition_id", "edition"))


@endpoint(
    bp,
    "/v1/feed",
    summary="Editions for this member: urgent ones of the last 7 days first, then newest first",
    query=s.FeedQuery,
    response=s.FeedPage,
    paginated=True,
    errors=(400, 401, 404),
)
def feed(call: Call) -> Paged:
    from chalicelib.services.feed import feed

    items, last = feed(call.caller, call.query.limit, call.cursor)
    return Paged(items, last)


@endpoint(
    bp,
    "/v1/bulletins/{edition_id}",
    summary="An edition with its article list",
    response=s.EditionView,
    errors=(401, 404),
)
def get_bulletin(call: Call) -> dict:
    from chalicelib.services.bulletins import get_bulletin

    return get_bulletin(_id(call, "edition_id", "edition"))


@endpoint(
    bp,
    "/v1/articles/{article_id}",
    summary="An article, body as sanitised HTML and as Markdown; counts as an article_open activity",
    response=s.ArticleView,
    errors=(401, 404),
)
def get_article(call: Call) -> dict:
    from chalicelib.services.bulletins import open_article

    return open_article(call.caller, _id(call, "article_id", "article"))


@endpoint(
    bp,
    "/v1/activity",
    "POST",
    summary="Report a batch of client events (section and article opens); each event judged on its own",
    body=s.ActivityBatch,
    response=s.ActivityReport,
    status=202,
    idempotent=True,
    errors=(400, 401, 429),
)
def report_activity(call: Call) -> dict:
    from chalicelib.services.activity import report

    return report(call.caller, call.body.events)
