"""Translate PynamoDB/botocore failures into domain errors (the first of the two translations)."""

from __future__ import annotations

from pynamodb.exceptions import PynamoDBException


def cancellation_codes(exc: PynamoDBException) -> list[str | None]:
    """Per-item reason codes of a cancelled transaction (`ConditionalCheckFailed`, None, ...)."""
    reasons = getattr(exc, "cancellation_reasons", None) or []
    return [r.code if r is not None else None for r in reasons]


def is_conditional_failure(exc: PynamoDBException) -> bool:
    """Was this write refused because a condition did not hold?"""
    if exc.cause_response_code == "ConditionalCheckFailedException":
        return True
    return "ConditionalCheckFailed" in cancellation_codes(exc)


def is_transaction_conflict(exc: PynamoDBException) -> bool:
    """Did a concurrent transaction on the same items make this one fail (safe to retry)?"""
    return exc.cause_response_code == "TransactionConflictException" or "TransactionConflict" in (
        cancellation_codes(exc)
    )
