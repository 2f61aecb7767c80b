"""The notification rules: their codes (what the code raises), their parameters as the code reads them, and the
use cases of /notification-rules: everyone reads them, admins switch them on and off and change their default
channels and parameters (the defaults come from migration 0001)."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from glassbox import clock
from glassbox.auth import Principal
from glassbox.db import Database, apply_changes
from glassbox.errors import Invalid, NotFound
from glassbox.policy import require
from services.notifications.models import Rule
from services.notifications.service.policy import EVERYONE, RULE_EDITORS

ACTIVITY_DUE_SOON = "activity_due_soon"
ACTIVITY_OVERDUE = "activity_overdue"
CLIENT_ASSIGNED = "client_assigned"
DEAL_ASSIGNED = "deal_assigned"
DEAL_STALLED = "deal_stalled"
DEAL_STALLED_ESCALATION = "deal_stalled_escalation"
INVOICE_OVERDUE = "invoice_overdue"
PAYMENT_MISSED = "payment_missed"
LOW_NPS = "low_nps"
WEBHOOK_DISABLED = "webhook_disabled"
MAILING_COMPLETED = "mailing_completed"
HANDOFF_OPENED = "handoff_opened"

# The parameters each rule has, with the bounds an admin may set them within.
PARAMETERS = {
    ACTIVITY_DUE_SOON: {"minutes_before": (1, 7 * 24 * 60)},
    ACTIVITY_OVERDUE: {"lookback_hours": (1, 30 * 24)},
    DEAL_STALLED: {"lookback_days": (1, 365)},
    DEAL_STALLED_ESCALATION: {"after_hours": (1, 30 * 24), "lookback_days": (1, 365)},
    LOW_NPS: {"max_score": (0, 10)},
}


def rule_params(session: Session, code: str) -> dict:
    rule = session.get(Rule, code)
    return dict(rule.params or {}) if rule is not None else {}


def list_rules(db: Database, principal: Principal) -> dict:
    require(principal, *EVERYONE)
    with db.session() as session:
        items = session.scalars(select(Rule).order_by(Rule.code)).all()
    return {"items": items, "next_cursor": None, "total": len(items), "total_is_estimate": False}


def get_rule(db: Database, principal: Principal, code: str) -> Rule:
    require(principal, *EVERYONE)
    with db.session() as session:
        rule = session.get(Rule, code)
    if rule is None:
        raise NotFound(f"rule {code} not found")
    return rule


def update_rule(db: Database, principal: Principal, code: str, changes: dict) -> Rule:
    """Switch a rule on or off, change its default channels or its parameters (only those it has, in bounds)."""
    require(principal, *RULE_EDITORS)
    with db.unit_of_work() as uow:
        rule = uow.session.get(Rule, code, with_for_update=True)
        if rule is None:
            raise NotFound(f"rule {code} not found")
        if "params" in changes:
            changes = {**changes, "params": _checked_params(code, rule.params or {}, changes["params"])}
        if apply_changes(rule, changes, clock.now()):
            uow.commit()
        return rule


def _checked_params(code: str, current: dict, given: dict) -> dict:
    allowed = PARAMETERS.get(code, {})
    errors = {}
    for name, value in given.items():
        if name not in allowed:
            errors[name] = [f"the rule {code} has no parameter {name}" + (
                f" (it has {', '.join(sorted(allowed))})" if allowed else "")]
        elif not isinstance(value, int) or isinstance(value, bool) or not allowed[name][0] <= value <= allowed[name][1]:
            errors[name] = [f"must be a whole number from {allowed[name][0]} to {allowed[name][1]}"]
    if errors:
        raise Invalid("the rule's parameters are not valid", {"json": {"params": errors}})
    return {**current, **given}
