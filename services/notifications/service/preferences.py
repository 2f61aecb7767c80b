"""Use cases of a user's own preferences: per rule on/off and channels, and quiet hours. Reading them shows
every rule with what applies to the caller (their choice, else the rule's defaults)."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert

from glassbox import clock
from glassbox.auth import Principal
from glassbox.db import Database
from glassbox.errors import Invalid
from glassbox.policy import require
from services.notifications.models import Preference, Rule
from services.notifications.service.notify import channels_for
from services.notifications.service.policy import EVERYONE


def _view(rules: list[Rule], preference: Preference | None) -> dict:
    own = (preference.rules or {}) if preference is not None else {}
    quiet = None
    if preference is not None and preference.quiet_hours_start is not None:
        quiet = {"start": preference.quiet_hours_start, "end": preference.quiet_hours_end,
                 "time_zone": preference.time_zone}
    return {"rules": [{"code": rule.code, "name": rule.name, "enabled": bool(channels_for(rule, preference)),
                       "channels": list(channels_for(rule, preference)), "is_default": rule.code not in own}
                      for rule in rules],
            "quiet_hours": quiet, "updated_at": preference.updated_at if preference is not None else None}


def get_preferences(db: Database, principal: Principal) -> dict:
    require(principal, *EVERYONE)
    with db.session() as session:
        rules = session.scalars(select(Rule).order_by(Rule.code)).all()
        return _view(rules, session.get(Preference, principal.id))


def update_preferences(db: Database, principal: Principal, changes: dict) -> dict:
    """Merge the given rule choices into the caller's, and set (or clear) the quiet hours if given."""
    require(principal, *EVERYONE)
    now = clock.now()
    with db.unit_of_work() as uow:
        session = uow.session
        rules = session.scalars(select(Rule).order_by(Rule.code)).all()
        unknown = sorted(set(changes.get("rules") or {}) - {rule.code for rule in rules})
        if unknown:
            raise Invalid("no such rule", {"json": {"rules": {code: ["no such rule"] for code in unknown}}})
        session.execute(insert(Preference).values(user_id=principal.id, rules={}, time_zone="UTC", updated_at=now)
                        .on_conflict_do_nothing(index_elements=["user_id"]))
        preference = session.get(Preference, principal.id, with_for_update=True, populate_existing=True)
        if "rules" in changes:
            preference.rules = {**(preference.rules or {}), **changes["rules"]}
        if "quiet_hours" in changes:
            quiet = changes["quiet_hours"] or {}
            preference.quiet_hours_start, preference.quiet_hours_end = quiet.get("start"), quiet.get("end")
            preference.time_zone = quiet.get("time_zone", "UTC")
        preference.updated_at = now
        uow.commit()
        return _view(rules, preference)
