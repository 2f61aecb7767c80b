"""After-sales: satisfaction surveys (NPS, CSAT) recorded by the service role, and service cases worked
through their workflow (open -> in_progress -> resolved -> closed)."""
from __future__ import annotations

import uuid

from sqlalchemy import select

from glassbox import clock
from glassbox.auth import Principal
from glassbox.db import Database
from glassbox.errors import Conflict
from glassbox.policy import require
from glassbox.web import sorted_page
from services.clients import events
from services.clients.models import CASE_TRANSITIONS, ServiceCase, Survey
from services.clients.service.policy import AFTER_SALES, CASE_READERS, SURVEY_READERS
from services.clients.service.records import (add_new, client_for_new_record, get_attached, load_attached,
                                              record_changes, visible, where_equal)


# -- surveys -------------------------------------------------------------------------------------------

def record_survey(db: Database, principal: Principal, data: dict) -> Survey:
    require(principal, *AFTER_SALES)
    data = dict(data)
    with db.unit_of_work() as uow:
        client = client_for_new_record(uow.session, principal, data.pop("client_id"))
        survey = add_new(uow, Survey(id=uuid.uuid4(), client=client, created_at=clock.now(), **data),
                         events.survey_recorded, principal)
        uow.commit()
        return survey


def get_survey(db: Database, principal: Principal, survey_id: uuid.UUID) -> Survey:
    return get_attached(db, principal, SURVEY_READERS, Survey, survey_id)


def list_surveys(db: Database, principal: Principal, args: dict) -> dict:
    require(principal, *SURVEY_READERS)
    stmt = where_equal(visible(select(Survey).join(Survey.client), principal), Survey, args, ("client_id", "kind"))
    if args.get("surveyed_from"):
        stmt = stmt.where(Survey.surveyed_on >= args["surveyed_from"])
    if args.get("surveyed_to"):
        stmt = stmt.where(Survey.surveyed_on <= args["surveyed_to"])
    with db.session() as session:
        return sorted_page(session, stmt, Survey, args)


# -- service cases -------------------------------------------------------------------------------------

def open_service_case(db: Database, principal: Principal, data: dict) -> ServiceCase:
    require(principal, *AFTER_SALES)
    data = dict(data)
    with db.unit_of_work() as uow:
        client = client_for_new_record(uow.session, principal, data.pop("client_id"))
        now = clock.now()
        case = add_new(uow, ServiceCase(id=uuid.uuid4(), client=client, status="open",
                                        priority=data.pop("priority", "normal"), created_at=now, updated_at=now,
                                        **data), events.service_case_opened, principal)
        uow.commit()
        return case


def get_service_case(db: Database, principal: Principal, case_id: uuid.UUID) -> ServiceCase:
    return get_attached(db, principal, CASE_READERS, ServiceCase, case_id)


def update_service_case(db: Database, principal: Principal, case_id: uuid.UUID, changes: dict) -> ServiceCase:
    require(principal, *AFTER_SALES)
    with db.unit_of_work() as uow:
        case = load_attached(uow.session, principal, ServiceCase, case_id, for_update=True)
        if case.status == "closed":
            raise Conflict("a closed service case cannot be changed", {"status": ["closed"]})
        if record_changes(uow, case, changes, events.service_case_updated, principal):
            uow.commit()
        return case


def transition_service_case(db: Database, principal: Principal, case_id: uuid.UUID, status: str) -> ServiceCase:
    require(principal, *AFTER_SALES)
    with db.unit_of_work() as uow:
        case = load_attached(uow.session, principal, ServiceCase, case_id, for_update=True)
        allowed = CASE_TRANSITIONS[case.status]
        if status not in allowed:
            raise Conflict(f"a service case cannot go from {case.status} to {status}",
                           {"status": [f"from {case.status}: {', '.join(allowed) or 'none'}"]})
        previous, now = case.status, clock.now()
        case.status, case.updated_at = status, now
        if status == "resolved":
            case.resolved_at = now
        elif status == "in_progress":
            case.resolved_at = None  # reopened: it is not resolved any more
        elif status == "closed":
            case.closed_at = now
        uow.emit(events.service_case_status_changed(case, previous, principal.user_id))
        uow.commit()
        return case


def list_service_cases(db: Database, principal: Principal, args: dict) -> dict:
    require(principal, *CASE_READERS)
    stmt = visible(select(ServiceCase).join(ServiceCase.client), principal)
    stmt = where_equal(stmt, ServiceCase, args, ("client_id", "status", "priority"))
    with db.session() as session:
        return sorted_page(session, stmt, ServiceCase, args)
