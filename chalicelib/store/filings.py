"""The central filing of effective transfers: one item per org on either side, listed by org and month."""

from __future__ import annotations

from collections.abc import Iterable

from chalicelib.store import models
from chalicelib.store.pages import Page, query_page


def scope(org_id: str, month: str) -> str:
    return f"{org_id}#{month}"


def put(items: Iterable[dict]) -> int:
    """BatchWriteItem the filing items; each has a fixed key, so writing one again changes nothing."""
    count = 0
    with models.TransferFiling.batch_write() as batch:
        for fields in items:
            batch.save(models.TransferFiling(**fields))
            count += 1
    return count


def to_view(item: models.TransferFiling) -> dict:
    return {
        "transfer_id": item.transfer_id,
        "org_id": item.org_id,
        "side": item.side,
        "registration_number": item.registration_number,
        "member_name": item.member_name,
        "kind": item.kind,
        "from_org_id": item.from_org_id,
        "to_org_id": item.to_org_id,
        "effective_at": item.effective_at,
        "decided_by": item.decided_by,
        "reason": item.reason,
        "filed_at": item.filed_at,
    }


def month(org_id: str, month: str, limit: int, cursor: dict | None) -> Page:
    """An org's filed transfers of one month, in the order they took effect: one Query."""
    return query_page(models.TransferFiling, scope(org_id, month), limit, cursor, to_view)
