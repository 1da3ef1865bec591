"""Publishing bulletins: upload URLs for editors, ingesting uploads, announcing what was published.

The flow: an editor asks for an upload URL (`upload_url`) and PUTs the file to S3; S3 notifies a
queue; the queue consumer calls `ingest`, which reads the object, checks the whole file, and either
publishes the edition in one transaction or writes `rejections/{key}.json` with every problem.
After publishing, `announce` sends `BulletinPublished` to EventBridge; the edition item remembers
which revision was announced, so a crash in between is repaired by the queue's retry.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from chalicelib.domain import roles
from chalicelib.domain.content import (
    MAX_FILE_BYTES,
    EditionState,
    iso,
    parse_edition,
    parse_key,
    rejection_key,
    render_article,
    scope_org_id,
    stored_size_problems,
    upload_key,
)
from chalicelib.domain.errors import Conflict, Forbidden, NotFound, ValidationFailed
from chalicelib.observability import count, logger, member_ref

UPLOAD_URL_SECONDS = 900
UPLOAD_CONTENT_TYPE = "application/json"  # signed into the upload URL: S3 refuses a PUT without it
PUBLISH_ATTEMPTS = 5


def _now() -> datetime:
    return datetime.now(UTC)


def upload_url(caller_number: str, scope: str, edition_id: str) -> dict:
    """A presigned PUT URL for exactly `bulletins/{scope}/{edition_id}.json`, for editors of that scope.

    One TransactGetItems (caller, department, edition owner); the URL itself is signed locally.
    """
    from chalicelib.config import get_settings
    from chalicelib.store import content as store

    org_id = scope_org_id(scope)
    ctx = store.upload_context(caller_number, org_id, edition_id)
    if ctx.org is None or not ctx.org.is_department:
        raise ValidationFailed(
            "unknown scope", errors=[{"field": "scope", "message": f"no department publishes as {scope}"}]
        )
    if ctx.caller is None or not roles.holds(ctx.caller.roles, [org_id], ["editor"]):
        raise Forbidden(f"only editors of {org_id} may publish as scope {scope}")
    if ctx.edition_scope is not None and ctx.edition_scope != scope:
        raise Conflict(f"edition id {edition_id} is already used by another scope; choose another id")
    key = upload_key(scope, edition_id)
    url = store.presign_put(get_settings().content_bucket, key, UPLOAD_URL_SECONDS, UPLOAD_CONTENT_TYPE)
    logger.info("upload url issued", extra={"key": key, "by": member_ref(caller_number)})
    return {
        "upload_url": url,
        "key": key,
        "method": "PUT",
        "headers": {"Content-Type": UPLOAD_CONTENT_TYPE},
        "expires_in": UPLOAD_URL_SECONDS,
        "max_bytes": MAX_FILE_BYTES,
        "rejection_key": rejection_key(key),
    }


def upload_status(caller_number: str, scope: str, edition_id: str) -> dict:
    """For the scope's editors: what is published under an edition id and the last rejection, if any."""
    from chalicelib.config import get_settings
    from chalicelib.store import content as store

    org_id = scope_org_id(scope)
    ctx = store.upload_context(caller_number, org_id, edition_id)
    if ctx.org is None or not ctx.org.is_department:
        raise NotFound(f"no department publishes as {scope}")
    if ctx.caller is None or not roles.holds(ctx.caller.roles, [org_id], ["editor"]):
        raise Forbidden(f"only editors of {org_id} may see its uploads")
    key = upload_key(scope, edition_id)
    edition = store.get_edition(edition_id) if ctx.edition_scope == scope else None
    rejection = store.read_rejection(get_settings().content_bucket, rejection_key(key))
    return {
        "key": key,
        "published_revision": edition.revision if edition else None,
        "updated_at": edition.published_at if edition else None,
        "rejection": rejection,
    }


@dataclass(frozen=True)
class IngestOutcome:
    status: str  # published | rejected | unchanged | ignored | gone
    edition_id: str | None = None
    revision: int | None = None
    problems: tuple[dict, ...] = ()


def ingest(bucket: str, key: str) -> IngestOutcome:
    """Validate and publish (or reject) the object now at `key`; safe to run twice for one upload."""
    from chalicelib.store import content as store

    if not key.startswith("bulletins/") or key.endswith("/"):
        return IngestOutcome("ignored")
    parsed = parse_key(key)
    if parsed is None:
        return _reject(
            bucket,
            key,
            None,
            [
                {
                    "field": "key",
                    "message": "uploads go to bulletins/{scope}/{edition_id}.json with scope `central` or a "
                    "division code and an edition id of letters, digits, '.', '_' or '-'",
                }
            ],
            None,
        )
    scope, edition_id = parsed
    upload = store.read_upload(bucket, key, MAX_FILE_BYTES)
    previous = store.get_edition(edition_id, consistent=True)
    if upload is None:
        finish_drops(previous)
        return IngestOutcome("gone", edition_id)
    if previous is not None and previous.scope == scope and previous.source_version == upload.version:
        # a redelivery, or the retry of an ingest that published and then failed: finish its work
        if previous.announced_revision < previous.revision:
            announce(previous)
        finish_drops(previous)
        return IngestOutcome("unchanged", edition_id, previous.revision)
    if upload.body is None:
        problem = {
            "field": "",
            "message": f"the file is {upload.size} bytes; at most {MAX_FILE_BYTES} bytes (2 MB) are allowed",
        }
        return _reject(bucket, key, edition_id, [problem], upload.version, previous)
    draft, problems = parse_edition(upload.body, scope, edition_id)
    from chalicelib.store import orgs

    org = orgs.get(scope_org_id(scope))
    if org is None or not org.is_department:
        problems.insert(0, {"field": "key", "message": f"no department publishes as scope {scope}"})
    if previous is not None and previous.scope != scope:
        problems.insert(
            0, {"field": "edition_id", "message": f"edition id {edition_id} belongs to another scope"}
        )
    if problems:
        return _reject(bucket, key, edition_id, problems, upload.version, previous)
    rendered = [render_article(a) for a in draft.articles]
    sizes = [r.stored_bytes for r in rendered]
    problems = stored_size_problems(sizes, sum(sizes))
    if problems:
        return _reject(bucket, key, edition_id, problems, upload.version, previous)
    state = None
    for _ in range(PUBLISH_ATTEMPTS):
        state = store.next_state(draft, org.org_id, upload.version, iso(_now()), previous)
        try:
            store.publish(state, rendered, org.path, previous)
            break
        except store.ArticlesTaken as exc:
            taken = [
                {
                    "field": f"articles[{i}].article_id",
                    "message": f"{a.article_id!r} belongs to another edition",
                }
                for i, a in enumerate(draft.articles)
                if a.article_id in exc.article_ids
            ]
            return _reject(bucket, key, edition_id, taken, upload.version, previous)
        except store.EditionChanged:
            previous = store.get_edition(edition_id, consistent=True)
            if previous is not None and previous.scope != scope:
                problem = {
                    "field": "edition_id",
                    "message": f"edition id {edition_id} belongs to another scope",
                }
                return _reject(bucket, key, edition_id, [problem], upload.version, previous)
            if previous is not None and previous.source_version == upload.version:
                finish_drops(previous)
                return IngestOutcome("unchanged", edition_id, previous.revision)
    else:
        raise Conflict(f"edition {edition_id} kept changing while being published; retry")
    store.delete_rejection(bucket, rejection_key(key))
    logger.info(
        "bulletin published",
        extra={"key": key, "revision": state.revision, "kind": state.kind, "articles": len(state.articles)},
    )
    count("BulletinsPublished")
    announce(state)
    finish_drops(state)
    return IngestOutcome("published", edition_id, state.revision)


def finish_drops(edition: EditionState | None) -> None:
    """Delete the articles a correction dropped, then forget them.

    The revision that drops them lists them in `pending_drops`, written in the publishing
    transaction (the old article list is overwritten there, so this is the only record of them).
    Every ingest of the edition, whatever its outcome, calls this: a failure or a Lambda timeout
    after the transaction is repaired by the queue's retry (which finds the upload unchanged), or
    by the next upload of the edition, which carries the list over.
    """
    from chalicelib.store import content as store

    if edition is None or not edition.pending_drops:
        return
    deleted = store.delete_articles(list(edition.pending_drops), edition.edition_id, edition.revision)
    store.clear_pending_drops(edition.edition_id, edition.revision)
    logger.info(
        "dropped articles deleted",
        extra={"edition_id": edition.edition_id, "revision": edition.revision, "deleted": deleted},
    )


def _reject(
    bucket: str,
    key: str,
    edition_id: str | None,
    problems: list[dict],
    version: str | None,
    previous: EditionState | None = None,
) -> IngestOutcome:
    from chalicelib.store import content as store

    document = {
        "key": key,
        "edition_id": edition_id,
        "rejected_at": iso(_now()),
        "source_version": version,
        "published": "nothing from this upload",
        "current_revision": previous.revision if previous is not None else None,
        "problems": problems,
    }
    store.write_rejection(bucket, rejection_key(key), document)
    logger.info("bulletin rejected", extra={"key": key, "problems": len(problems)})
    count("BulletinsRejected")
    finish_drops(previous)
    return IngestOutcome("rejected", edition_id, None, tuple(problems))


def announce(state: EditionState) -> None:
    """Send `BulletinPublished` for this revision, then remember that it went out."""
    from chalicelib.store import content as store
    from chalicelib.store import events

    events.put_event(events.BULLETIN_PUBLISHED, state.event_detail())
    store.mark_announced(state.edition_id, state.revision)


def get_bulletin(edition_id: str) -> dict:
    """An edition with its article list: one GetItem. Published editions are readable by every member."""
    from chalicelib.store import content as store

    edition = store.get_edition(edition_id)
    if edition is None:
        raise NotFound(f"no edition {edition_id}")
    return edition.public()


def open_article(caller_number: str, article_id: str) -> dict:
    """An article, counted as an `article_open` activity: one GetItem and one PutItem."""
    import uuid

    from chalicelib.store import activity
    from chalicelib.store import content as store

    article = store.get_article(article_id)
    if article is None:
        raise NotFound(f"no article {article_id}")
    activity.record(caller_number, uuid.uuid4().hex, "article_open", _now(), article_id)
    return article.public()


PUSH_MARK_SECONDS = 30 * 24 * 3600


def push_bulletin(detail: dict) -> str | None:
    """Send an urgent edition to its scope's SNS topic once; the message id (None: nothing sent)."""
    import time

    from chalicelib.domain.content import valid_id, valid_scope
    from chalicelib.store import content as store
    from chalicelib.store import events

    scope, edition_id, revision = detail.get("scope"), detail.get("edition_id"), detail.get("revision")
    if detail.get("kind") != "urgent" or not detail.get("newly_urgent"):
        return None
    if not (
        isinstance(scope, str) and valid_scope(scope) and isinstance(edition_id, str) and valid_id(edition_id)
    ):
        logger.warning("urgent push skipped: malformed event")
        return None
    mark = f"push:{edition_id}:{revision}"
    if not store.claim_mark(mark, int(time.time()) + PUSH_MARK_SECONDS):
        return None  # pushed before (a redelivered event)
    message = {
        "type": "BulletinPublished",
        "edition_id": edition_id,
        "scope": scope,
        "kind": "urgent",
        "title": str(detail.get("title", ""))[:200],
        "published_at": detail.get("published_at"),
    }
    try:
        message_id = events.push(scope, "Urgent bulletin", message, {"scope": scope, "kind": "urgent"})
    except Exception:
        store.release_mark(mark)  # let the queue's retry push it
        raise
    logger.info("urgent bulletin pushed", extra={"edition_id": edition_id, "scope": scope})
    count("UrgentPushes")
    return message_id
