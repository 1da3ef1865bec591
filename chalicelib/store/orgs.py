"""Org tree queries and writes; maps the PynamoDB item to `domain.orgs.Org`."""

from __future__ import annotations

from collections.abc import Iterable

from pynamodb.exceptions import PutError

from chalicelib.domain.errors import Conflict
from chalicelib.domain.orgs import Org, sort_name
from chalicelib.store import models
from chalicelib.store.errors import is_conditional_failure
from chalicelib.store.pages import Page, query_page


def to_domain(item: models.Org) -> Org:
    return Org(
        org_id=item.org_id,
        name=item.name,
        level=item.level,
        parent_id=item.parent_id,
        division_code=item.division_code,
        path=tuple(item.path or ()),
        member_count=int(item.member_count or 0),
        created_at=item.created_at,
    )


def get(org_id: str) -> Org | None:
    """One GetItem."""
    try:
        return to_domain(models.Org.get(org_id))
    except models.Org.DoesNotExist:
        return None


def get_many(org_ids: Iterable[str]) -> dict[str, Org]:
    """One BatchGetItem per 100 ids."""
    ids = list(dict.fromkeys(org_ids))
    if not ids:
        return {}
    return {item.org_id: to_domain(item) for item in models.Org.batch_get(ids)}


def to_item(org: Org, created_by: str | None = None) -> models.Org:
    return models.Org(
        org.org_id,
        name=org.name,
        level=org.level,
        parent_id=org.parent_id,
        division_code=org.division_code,
        path=list(org.path),
        sort_name=sort_name(org.name, org.org_id),
        member_count=org.member_count,
        created_at=org.created_at,
        created_by=created_by,
    )


def create(org: Org, created_by: str | None) -> None:
    """PutItem that never overwrites an existing org."""
    try:
        to_item(org, created_by).save(condition=models.Org.org_id.does_not_exist())
    except PutError as exc:
        if is_conditional_failure(exc):
            raise Conflict(f"org {org.org_id} already exists") from exc
        raise


def put_many(orgs: Iterable[Org]) -> int:
    """Batch-write orgs (bootstrap of the department tree); overwrites, so it can run again."""
    count = 0
    with models.Org.batch_write() as batch:
        for org in orgs:
            batch.save(to_item(org))
            count += 1
    return count


def children(parent_id: str, limit: int, cursor: dict | None) -> Page:
    """Children of an org sorted by name: one Query on `by_parent`."""
    return query_page(models.Org.by_parent, parent_id, limit, cursor, to_domain)


def in_division(division_code: str, limit: int, cursor: dict | None) -> Page:
    """Orgs carrying a division code (the department and the branches under it): one Query."""
    return query_page(models.Org.by_division, division_code, limit, cursor, to_domain)


def add_member_counts(deltas: dict[str, int], mark_id: str, mark_expires_at: int) -> bool:
    """Apply member-count deltas and mark the stream record done, all or nothing.

    Returns False when the mark already existed (the record was applied before).
    """
    from pynamodb.exceptions import TransactWriteError
    from pynamodb.transactions import TransactWrite

    try:
        with TransactWrite(connection=models.Org._get_connection().connection) as tx:
            tx.save(
                models.StreamMark(mark_id, expires_at=mark_expires_at),
                condition=models.StreamMark.mark_id.does_not_exist(),
            )
            for org_id, delta in sorted(deltas.items()):
                tx.update(
                    models.Org(org_id),
                    actions=[models.Org.member_count.add(delta)],
                    condition=models.Org.org_id.exists(),
                    add_version_condition=False,
                )
    except TransactWriteError as exc:
        reasons = getattr(exc, "cancellation_reasons", None) or []
        if reasons and reasons[0] is not None and reasons[0].code == "ConditionalCheckFailed":
            return False
        raise
    return True
