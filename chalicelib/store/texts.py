"""Versioned texts (virtual-branch rules and secretary covenant) and the item naming those in force."""

from __future__ import annotations

from dataclasses import dataclass

from pynamodb.exceptions import TransactWriteError
from pynamodb.transactions import TransactWrite

from chalicelib.domain.errors import Conflict
from chalicelib.store import models
from chalicelib.store.errors import cancellation_codes

CURRENT = "current"


@dataclass(frozen=True)
class CurrentTexts:
    rules_version: int
    rules_text: str
    rules_digest: str
    rules_published_at: str
    covenant_version: int
    covenant_text: str
    covenant_digest: str
    covenant_published_at: str

    def public(self) -> dict:
        return {
            "rules_version": self.rules_version,
            "rules_text": self.rules_text,
            "rules_published_at": self.rules_published_at,
            "covenant_version": self.covenant_version,
            "covenant_text": self.covenant_text,
            "covenant_published_at": self.covenant_published_at,
        }


def to_current(item: models.Text) -> CurrentTexts:
    return CurrentTexts(
        rules_version=int(item.rules_version or 0),
        rules_text=item.rules_text or "",
        rules_digest=item.rules_digest or "",
        rules_published_at=item.rules_published_at or "",
        covenant_version=int(item.covenant_version or 0),
        covenant_text=item.covenant_text or "",
        covenant_digest=item.covenant_digest or "",
        covenant_published_at=item.covenant_published_at or "",
    )


def current() -> CurrentTexts | None:
    """The texts in force: one GetItem (None before the first publication)."""
    try:
        return to_current(models.Text.get(CURRENT, 0))
    except models.Text.DoesNotExist:
        return None


def stored_versions(kind: str) -> set[int]:
    """The versions of one text already published (one Query; a handful of items)."""
    return {int(item.version) for item in models.Text.query(kind, attributes_to_get=["kind", "version"])}


def publish(kind: str, version: int, combined: str, zh: str, en: str, digest: str, at: str) -> None:
    """Store a new version and make it the one in force, in one transaction.

    The version must be new and higher than the one in force; a version published before stays as
    it was (Conflict).
    """
    prefix = "rules" if kind == "rules" else "covenant"
    version_attr = getattr(models.Text, f"{prefix}_version")
    current_item = models.Text(CURRENT, 0)
    try:
        with TransactWrite(connection=models.Text._get_connection().connection) as tx:
            tx.save(
                models.Text(kind, version, zh=zh, en=en, digest=digest, published_at=at),
                condition=models.Text.kind.does_not_exist(),
            )
            tx.update(
                current_item,
                actions=[
                    version_attr.set(version),
                    getattr(models.Text, f"{prefix}_text").set(combined),
                    getattr(models.Text, f"{prefix}_digest").set(digest),
                    getattr(models.Text, f"{prefix}_published_at").set(at),
                    models.Text.published_at.set(at),
                ],
                condition=version_attr.does_not_exist() | (version_attr < version),
            )
    except TransactWriteError as exc:
        if "ConditionalCheckFailed" in cancellation_codes(exc):
            raise Conflict(
                f"{kind} version {version} is published already, or an older one than in force"
            ) from exc
        raise


def version_condition(rules_version: int, covenant_version: int):
    """(item, condition) that holds while exactly these versions are in force, for a founding transaction."""
    return (
        models.Text(CURRENT, 0),
        (models.Text.rules_version == rules_version) & (models.Text.covenant_version == covenant_version),
    )
