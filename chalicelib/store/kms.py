"""KMS for reports: seal the reporter of an anonymous report, and find a reporter's own reports.

Two keys, both named in settings:
- the *reports key* (symmetric): the app only ever calls `Encrypt` with it. The ciphertext is bound
  to its case by the encryption context, so it cannot be replayed onto another case. Nothing in
  this code base calls `Decrypt`; deployed, the API's role is granted `kms:Encrypt` only, and
  revealing a reporter is a separate, audited act outside the app (see README).
- the *lookup key* (HMAC_256): `GenerateMac` of the reporter's number gives the partition key under
  which their anonymous reports are listed (`GET /v1/cases/mine`). The key never leaves KMS, so
  a copy of the table alone cannot be matched against a list of numbers.
"""

from __future__ import annotations

from functools import lru_cache

from chalicelib.config import get_settings
from chalicelib.store.clients import client

MAC_ALGORITHM = "HMAC_SHA_256"
_MAC_PURPOSE = b"mmp-anonymous-reporter:"


def encryption_context(case_id: str) -> dict[str, str]:
    """What the ciphertext is bound to: decrypting needs the same context."""
    return {"purpose": "case-reporter", "case_id": case_id}


def seal_reporter(registration_number: str, case_id: str) -> bytes:
    """The reporter's number encrypted under the reports key for this case (one KMS Encrypt)."""
    result = client("kms").encrypt(
        KeyId=get_settings().reports_key_id,
        Plaintext=registration_number.encode(),
        EncryptionContext=encryption_context(case_id),
    )
    return result["CiphertextBlob"]


def reporter_mac(registration_number: str) -> str:
    """A stable keyed MAC of a reporter's number (hex): the lookup key of their anonymous reports."""
    return _mac(get_settings().reports_lookup_key_id, registration_number)


@lru_cache(maxsize=4096)
def _mac(key_id: str, registration_number: str) -> str:
    # cached per container: a member reading their cases repeatedly costs one KMS call
    result = client("kms").generate_mac(
        KeyId=key_id,
        Message=_MAC_PURPOSE + registration_number.encode(),
        MacAlgorithm=MAC_ALGORITHM,
    )
    return result["Mac"].hex()


def forget() -> None:
    """Drop cached MACs (tests and the local stack recreate keys)."""
    _mac.cache_clear()


def ensure_keys() -> dict[str, str]:
    """Create the two report keys and their aliases where missing (local stack and tests only)."""
    kms = client("kms")
    settings = get_settings()
    existing = {a["AliasName"] for a in _aliases(kms)}
    created = {}
    for alias, spec in (
        (settings.reports_key_id, {"KeySpec": "SYMMETRIC_DEFAULT", "KeyUsage": "ENCRYPT_DECRYPT"}),
        (settings.reports_lookup_key_id, {"KeySpec": "HMAC_256", "KeyUsage": "GENERATE_VERIFY_MAC"}),
    ):
        if not alias.startswith("alias/") or alias in existing:
            continue
        key_id = kms.create_key(Description=f"mmp {alias}", **spec)["KeyMetadata"]["KeyId"]
        kms.create_alias(AliasName=alias, TargetKeyId=key_id)
        created[alias] = key_id
    forget()
    return created


def _aliases(kms) -> list[dict]:
    out, kwargs = [], {}
    while True:
        page = kms.list_aliases(**kwargs)
        out.extend(page.get("Aliases", []))
        if not page.get("Truncated"):
            return out
        kwargs["Marker"] = page["NextMarker"]
