"""One way to page through a Query: an opaque, signed cursor over DynamoDB's LastEvaluatedKey."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Page:
    items: list
    last_key: dict | None


def query_page(
    index_or_model: Any,
    hash_key: str,
    limit: int,
    cursor: dict | None,
    convert: Callable[[Any], Any],
    *,
    range_key_condition: Any = None,
    scan_index_forward: bool = True,
) -> Page:
    """Run one Query of at most `limit` items starting after `cursor`."""
    result = index_or_model.query(
        hash_key,
        range_key_condition=range_key_condition,
        limit=limit,
        last_evaluated_key=cursor,
        scan_index_forward=scan_index_forward,
        page_size=limit,
    )
    items = [convert(item) for item in result]
    return Page(items=items, last_key=result.last_evaluated_key)
