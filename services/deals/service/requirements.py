"""What a stage requires of a deal before it may enter (create in it, move to it, reopen into it): fields of the
deal (models.REQUIRABLE_FIELDS) and activity types completed on it (the projection of the clients service's
activities, services/deals/consumers.py). A deal without them is a 409 naming exactly what is missing."""
from __future__ import annotations

from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from glassbox.errors import Conflict
from services.deals.models import Deal, DealActivity, Stage

# What each requirable field asks of the deal.
FIELD_RULES = {
    "amount": lambda deal: deal.amount is not None and deal.amount.amount > 0,
    "expected_close_on": lambda deal: deal.expected_close_on is not None,
    "campaign_id": lambda deal: deal.campaign_id is not None,
}


def completed_activity_types(session: Session | Connection, deal_id) -> set[str]:
    return set(session.scalars(select(DealActivity.type).where(DealActivity.deal_id == deal_id,
                                                               DealActivity.status == "done")))


def ensure_met(session: Session | Connection, deal: Deal, stage: Stage) -> None:
    """Refuse (409) entering `stage` while the deal lacks a field or a completed activity type it requires (read on
    the unit of work's session or, on the Core write paths, its connection)."""
    missing_fields = [name for name in stage.required_fields or () if not FIELD_RULES[name](deal)]
    missing_activities = []
    if stage.required_activities:
        done = completed_activity_types(session, deal.id) if deal.id is not None else set()
        missing_activities = [slug for slug in stage.required_activities if slug not in done]
    if missing_fields or missing_activities:
        raise Conflict(f"the deal does not meet the requirements of the stage {stage.name!r}",
                       {"missing_fields": missing_fields, "missing_activities": missing_activities})
