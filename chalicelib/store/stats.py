"""Stream-fed org counters (`OrgStat`): applying deltas once per stream record, and reading an org's
buckets. Records are applied many to a transaction when they can be (their deltas summed per item),
one at a time when not."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from pynamodb.exceptions import TransactWriteError
from pynamodb.transactions import TransactWrite

from chalicelib.domain.stats import GAUGES, MONTH_COUNTERS, Delta
from chalicelib.store import models
from chalicelib.store.errors import cancellation_codes

COUNTERS = (*MONTH_COUNTERS, *GAUGES)  # the number attributes of an OrgStat item
MAX_ITEMS = 100  # TransactWriteItems holds at most 100 items


def stat_key(bucket: str, shard: int) -> str:
    return f"{bucket}#{shard:02d}"


def _by_item(deltas: Iterable[Delta]) -> dict[tuple[str, str], dict[str, int]]:
    items: dict[tuple[str, str], dict[str, int]] = defaultdict(dict)
    for d in deltas:
        fields = items[(d.org_id, stat_key(d.bucket, d.shard))]
        fields[d.field] = fields.get(d.field, 0) + d.n
    return items


def _write(marks: list[str], deltas: Iterable[Delta], mark_expires_at: int) -> None:
    S = models.OrgStat
    with TransactWrite(connection=S._get_connection().connection) as tx:
        for mark_id in marks:
            tx.save(
                models.StreamMark(mark_id, expires_at=mark_expires_at),
                condition=models.StreamMark.mark_id.does_not_exist(),
            )
        for (org_id, key), fields in sorted(_by_item(deltas).items()):
            actions = [getattr(S, name).add(n) for name, n in sorted(fields.items()) if n]
            if actions:
                tx.update(S(org_id, key), actions=actions)


def apply(deltas: Iterable[Delta], mark_id: str, mark_expires_at: int) -> bool:
    """Add one record's deltas and mark it applied, all or nothing (one TransactWriteItems).

    Returns False when the mark already existed: the record was applied before and nothing changed.
    """
    try:
        _write([mark_id], list(deltas), mark_expires_at)
    except TransactWriteError as exc:
        if cancellation_codes(exc)[:1] == ["ConditionalCheckFailed"]:
            return False
        raise
    return True


def apply_many(records: list[tuple[str, list[Delta]]], mark_expires_at: int) -> set[str]:
    """Apply many records' deltas in as few transactions as fit (marks plus summed items per
    transaction at most 100). Returns the marks done: applied now, or found applied before (a
    redelivered batch costs one refused transaction per chunk, not one per record). The records of
    a transaction that failed otherwise (a throttle, a conflict, ...) are left for `apply`."""
    applied: set[str] = set()
    for chunk in _chunks(records):
        if len({mark for mark, _ in chunk}) != len(chunk):
            continue  # one record twice in the batch: one by one sorts it out
        while chunk:
            try:
                _write([mark for mark, _ in chunk], [d for _, ds in chunk for d in ds], mark_expires_at)
            except TransactWriteError as exc:
                codes = cancellation_codes(exc)[: len(chunk)]  # the marks come first in `_write`
                seen = {chunk[i][0] for i, code in enumerate(codes) if code == "ConditionalCheckFailed"}
                if not seen or any(code not in (None, "None", "ConditionalCheckFailed") for code in codes):
                    break
                applied |= seen  # counted by an earlier delivery: nothing more to do for them
                chunk = [record for record in chunk if record[0] not in seen]
                continue
            applied.update(mark for mark, _ in chunk)
            break
    return applied


def _chunks(records: list[tuple[str, list[Delta]]]) -> list[list[tuple[str, list[Delta]]]]:
    """Records grouped so that each group's marks and distinct counter items fit one transaction."""
    chunks: list[list[tuple[str, list[Delta]]]] = []
    chunk: list[tuple[str, list[Delta]]] = []
    keys: set[tuple[str, str]] = set()
    for mark_id, record_deltas in records:
        record_keys = {(d.org_id, stat_key(d.bucket, d.shard)) for d in record_deltas}
        if chunk and len(chunk) + 1 + len(keys | record_keys) > MAX_ITEMS:
            chunks.append(chunk)
            chunk, keys = [], set()
        chunk.append((mark_id, record_deltas))
        keys |= record_keys
    if chunk:
        chunks.append(chunk)
    return chunks


def buckets_from(org_id: str, month: str) -> list[tuple[str, dict]]:
    """Every bucket of an org from `month` on, and its gauges: one Query (paged only past 1 MB)."""
    S = models.OrgStat
    out = []
    for item in S.query(org_id, S.stat_key >= f"{month}#"):
        bucket = item.stat_key.rsplit("#", 1)[0]
        out.append((bucket, {name: int(getattr(item, name) or 0) for name in COUNTERS}))
    return out
