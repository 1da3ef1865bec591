"""The central filing of effective transfers: written from the transfers stream, read by departments."""

from __future__ import annotations

from datetime import UTC, datetime

from chalicelib.domain import transfers as rules
from chalicelib.domain.errors import ValidationFailed
from chalicelib.domain.stats import month_of
from chalicelib.services.authz import require_role


def filing_items(old_image: dict | None, new_image: dict | None, filed_at: str) -> list[dict]:
    """The filing items of one change: one per org on either side if the transfer just took effect.

    Idempotent without a mark: the items have fixed keys and contents (`filed_at` is the stream
    record's own time), so a redelivered record writes the same items again.
    """
    from chalicelib.store import filings
    from chalicelib.store.transfers import from_image

    old, new = from_image(old_image), from_image(new_image)
    if not rules.became_effective(old, new):
        return []
    month = month_of(new.effective_at)
    decided_by = new.decided_by if new.kind == "formal" else new.registration_number
    return [
        {
            "scope": filings.scope(org_id, month),
            "filing_key": f"{new.effective_at}#{new.transfer_id}",
            "org_id": org_id,
            "side": side,
            "transfer_id": new.transfer_id,
            "registration_number": new.registration_number,
            "member_name": new.member_name,
            "kind": new.kind,
            "from_org_id": new.from_org_id,
            "to_org_id": new.to_org_id,
            "effective_at": new.effective_at,
            "decided_by": decided_by,
            "reason": new.reason,
            "filed_at": filed_at,
        }
        for org_id, side in rules.filing_sides(new).items()
    ]


def file_items(items: list[dict]) -> int:
    """Write filing items (BatchWriteItem, 25 a call)."""
    from chalicelib.store import filings

    return filings.put(items) if items else 0


def file_transfer_change(old_image: dict | None, new_image: dict | None, filed_at: str) -> int:
    """File one change of a transfer; 0 when it did not just take effect."""
    return file_items(filing_items(old_image, new_image, filed_at))


def check_month(month: str | None, now: datetime) -> str:
    """The month asked for (default: this one, in China Standard Time); a future month is a 400."""
    current = month_of(now)
    if month is None:
        return current
    if month > current:
        raise ValidationFailed(
            "that month has not begun", errors=[{"field": "month", "message": "in the future"}]
        )
    return month


def transfer_filings(
    caller: str, org_id: str, month: str, limit: int, cursor: dict | None, now: datetime | None = None
):
    """An org's filing of effective transfers for a month, for staff of the org or above."""
    from chalicelib.store import filings
    from chalicelib.store.transfers import load_caller_and_org

    month = check_month(month, now or datetime.now(UTC))
    member, org = load_caller_and_org(caller, org_id)
    require_role(member, org, ["staff"], "read this org's filings")
    page = filings.month(org_id, month, limit, cursor)
    return page.items, page.last_key
