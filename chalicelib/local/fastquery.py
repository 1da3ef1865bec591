"""moto's DynamoDB Query made to cost what it costs on DynamoDB: in proportion to what it reads.

moto answers a Query by walking every item of the table (a GSI Query by comparing each item with
moto's slow `DynamoType.__eq__`), so a Query costs time in proportion to the table, not to the
partition it reads as on DynamoDB: with the 3,200 departments in the orgs table, listing one
department's children took most of a second, and a monthly filing of the whole tree on the local
stack an hour. `install()` hands moto's own Query code only the items of the partition asked for
(or those whose index key matches), which keeps its results, order and paging exactly as they were.
Installed by the local stack's moto server and by the tests.
"""

from __future__ import annotations

import inspect
import threading

_local = threading.local()
_installed = False


def install() -> None:
    """Patch moto's Table.query to look only at candidate items (idempotent, same results)."""
    global _installed
    if _installed:
        return
    from moto.dynamodb.models.table import Table

    original_query, original_all_items = Table.query, Table.all_items
    signature = inspect.signature(original_query)

    def all_items(self):  # type: ignore[no-untyped-def]
        scoped = getattr(_local, "candidates", None)
        if scoped is not None and scoped[0] is self:
            return scoped[1]
        return original_all_items(self)

    def query(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        bound = signature.bind(self, *args, **kwargs).arguments
        hash_key, index_name = bound.get("hash_key"), bound.get("index_name")
        conditions = bound.get("hash_key_conditions")
        if index_name is None and hash_key is not None:
            part = self.items.get(hash_key)
            candidates = [] if part is None else list(part.values()) if isinstance(part, dict) else [part]
        elif index_name and conditions:
            wanted = [(name, value.type, value.value, value) for name, value in conditions]
            candidates = []
            for part in self.items.values():
                for item in part.values() if isinstance(part, dict) else (part,):
                    for name, type_, raw, value in wanted:
                        found = item.attrs.get(name)
                        if found is None or found.type != type_ or (found.value != raw and found != value):
                            break
                    else:
                        candidates.append(item)
        else:
            return original_query(self, *args, **kwargs)
        # moto sorts the candidates itself, by the keys of the table or index, as it sorts all items
        _local.candidates = (self, candidates)
        try:
            return original_query(self, *args, **kwargs)
        finally:
            _local.candidates = None

    Table.query = query
    Table.all_items = all_items
    _installed = True
