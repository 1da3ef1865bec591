"""Every day at 01:00 China Standard Time, formal transfers pending for over 90 days are expired."""

from __future__ import annotations

from chalice import Blueprint, Cron

bp = Blueprint(__name__)


@bp.schedule(Cron(0, 17, "*", "*", "?", "*"), name="transfer_expiry")
def expire_stale_transfers(event, context=None):
    """Write `expired` on stale formal transfers and free each member's open slot."""
    from chalicelib.services.transfers import expire_stale

    return {"expired": expire_stale()}
