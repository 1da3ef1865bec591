"""What a new platform needs before anyone can use it, in one idempotent call.

The local bootstrap runs it on every start; against AWS it runs once after the first deployment
(`mmp seed --aws`). Each step leaves what is already there alone.
"""

from __future__ import annotations


def seed_platform(admin_password: str | None = None) -> dict:
    """The department tree, the founding texts, the scoring rules and (given a password) the
    central administrator; returns what was written and the administrator's number."""
    from chalicelib.services import accounts, orgs
    from chalicelib.services.rules import seed_texts
    from chalicelib.services.scoring import seed_default_rules

    done = {
        "orgs": orgs.seed_departments(),
        "texts": seed_texts(),
        "scoring_rules": seed_default_rules(),  # the scoring rules of API.md, version 1
    }
    if admin_password is not None:
        done["admin"] = accounts.bootstrap_administrator(admin_password)
    return done
