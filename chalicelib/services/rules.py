"""The establishment rules and secretary covenant of virtual branches: serving and publishing them."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime

from chalicelib.domain.errors import Conflict, NotFound


def current_texts() -> dict:
    """The versions in force and their texts: one GetItem."""
    from chalicelib.store import texts

    found = texts.current()
    if found is None:
        raise NotFound("no establishment rules have been published yet")
    return found.public()


def seed_texts() -> int:
    """Publish every version in `domain/texts` not stored yet, oldest first; returns how many.

    Run by the local bootstrap and at deployment next to `seed_departments()`; running it again
    publishes nothing, and adding `rules.v2.*.md` publishes version 2 and puts it in force.
    """
    from chalicelib.domain.texts import load_texts
    from chalicelib.store import texts as store

    published = 0
    stored: dict[str, set[int]] = {}
    for text in load_texts():
        versions = stored.setdefault(text.kind, store.stored_versions(text.kind))
        if text.version in versions:
            continue
        at = datetime.now(UTC).isoformat(timespec="seconds")
        with contextlib.suppress(Conflict):  # published meanwhile, or older than the one in force
            store.publish(text.kind, text.version, text.combined, text.zh, text.en, text.digest, at)
            published += 1
        versions.add(text.version)
    return published
