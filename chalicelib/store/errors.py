"""Translate PynamoDB/botocore failures into domain errors (the first of the two translations)."""

from __future__ import annotations

from pynamodb.exceptions import PynamoDBException


def cancellation_codes(exc: PynamoDBException) -> list[str | None]:
    """Per-item reason codes of a cancelled transaction (`ConditionalCheckFailed`, None, ...)."""
    reasons = getattr(exc, "cancellation_reasons", None) or []
    return [r.code if r is not None else None for r in reasons]


def response_code(exc: PynamoDBException) -> str | None:
    """DynamoDB's error code, or None when there was no answer (a network failure, a timeout)."""
    response = getattr(getattr(exc, "cause", None), "response", None)
    return ((response or {}).get("Error") or {}).get("Code") if isinstance(response, dict) else None


def is_conditional_failure(exc: PynamoDBException) -> bool:
    """Was this write refused because a condition did not hold?"""
    if response_code(exc) == "ConditionalCheckFailedException":
        return True
    return "ConditionalCheckFailed" in cancellation_codes(exc)


def is_transaction_conflict(exc: PynamoDBException) -> bool:
    """Did a concurrent transaction on the same items make this one fail (safe to retry)?"""
    return response_code(exc) == "TransactionConflictException" or "TransactionConflict" in (
        cancellation_codes(exc)
    )
