"""The read models, fed through the consumer runner as `glassbox consume analytics` feeds them: what each event
does, and that repeated, reordered, unknown and broken events change nothing they should not."""
from datetime import timedelta
from decimal import Decimal

from prometheus_client import REGISTRY
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from glassbox.inbox import ANY_TYPE
from services.analytics import consumers
from services.analytics.models import Client, Deal, Pipeline, Stage, StageEntry, User
from tests.support.analytics.events import (T0, DealLife, PipelineDef, client_archived, client_assigned, client_card,
                                            client_created, client_updated, event, new_id, user_created,
                                            user_deactivated, user_updated)
from tests.support.analytics.feeding import DeadLetters


def rows(engine, model, *order):
    with Session(engine) as session:
        return list(session.scalars(select(model).order_by(*order)))


def at(minutes: float):
    return T0 + timedelta(minutes=minutes)


def test_the_consumer_reads_four_topics_in_its_group_and_knows_every_type_it_needs():
    assert consumers.GROUP == "analytics"
    assert consumers.TOPICS == ("crm.identity.events", "crm.clients.events", "crm.deals.events", "crm.billing.events")
    for needed in ("crm.user.created.v1", "crm.client.created.v1", "crm.client.assigned.v1", "crm.deal.created.v1",
                   "crm.deal.stage_changed.v1", "crm.deal.won.v1", "crm.deal.lost.v1", "crm.deal.reopened.v1",
                   "crm.pipeline.updated.v1", "crm.campaign.created.v1", "crm.activity.completed.v1",
                   "crm.survey.recorded.v1", "crm.product.created.v1", "crm.invoice.created.v1",
                   "crm.invoice.updated.v1", "crm.invoice.issued.v1", "crm.invoice.cancelled.v1", "crm.invoice.paid.v1",
                   "crm.payment.recorded.v1", "crm.payment.reversed.v1", "crm.payment_plan.updated.v1",
                   "crm.shipment.delivered.v1", "crm.service_act.signed.v1"):
        assert needed in consumers.HANDLERS
    assert ANY_TYPE in consumers.HANDLERS


def test_users_keep_their_profile_when_a_deactivation_arrives_first(feed, analytics_engine):
    user, team = new_id(), new_id()
    created = user_created(user, team_id=team, name="Anna Petrova", at=at(0))
    deactivated = user_deactivated(user, at(2))
    feed([deactivated, created])  # the late "created" fills in the name and team, but cannot reactivate
    [row] = rows(analytics_engine, User)
    assert (row.full_name, str(row.team_id), row.role, row.is_active) == ("Anna Petrova", team, "manager", False)
    feed([user_updated(user, at(1), team_id=None, name="Anna P.")])  # older than the deactivation, newer profile
    [row] = rows(analytics_engine, User)
    assert (row.full_name, row.team_id, row.is_active) == ("Anna P.", None, False)


def test_client_cards_owners_and_archiving_each_move_forward_on_their_own(feed, analytics_engine):
    first, second = new_id(), new_id()
    card = client_card(new_id(), first, at(0), industry="it", region="Moscow", source_channel="website")
    assigned = client_assigned(card["client_id"], second, first, at(5))
    updated = client_updated({**card, "industry": "retail"}, at(3), ("industry",))
    archived = client_archived(card["client_id"], second, at(9))
    feed([assigned, archived, updated, client_created(card)])  # every one late but the first
    [row] = rows(analytics_engine, Client)
    assert (row.industry, row.region, row.source_channel) == ("retail", "Moscow", "website")
    assert str(row.owner_id) == second and row.archived_at == at(9) and row.created_at == at(0)


def test_deal_events_keep_the_latest_snapshot_and_every_stay_in_a_stage(feed, analytics_engine):
    pipeline = PipelineDef.make([("Lead", 10, 5), ("Offer", 50, 10), ("Contract", 80, None)])
    life = DealLife(pipeline, new_id(), client_card(new_id(), new_id(), at(0), industry="it"), Decimal("1000.00"))
    events = [pipeline.event(at(0)), life.create(at(1)), life.move(at(60), 1), life.move(at(120), 2),
              life.win(at(200)), life.reopen(at(300)), life.lose(at(400), (new_id(), "Too expensive"))]
    feed(events)
    [deal] = rows(analytics_engine, Deal)
    assert (deal.status, deal.amount, deal.currency, deal.stage_position) == ("lost", Decimal("1000.00"), "RUB", 2)
    assert deal.lost_reason_name == "Too expensive" and deal.closed_at == at(400)
    stays = [(str(e.stage_id), e.entered_at, e.left_at) for e in rows(analytics_engine, StageEntry, StageEntry.entered_at)]
    assert stays == [(s, entered, left) for s, entered, left in life.stays]
    assert [s.name for s in rows(analytics_engine, Stage, Stage.position)] == ["Lead", "Offer", "Contract"]


def test_stages_named_only_by_deal_snapshots_are_taken_from_the_first_that_tells_enough(feed, analytics_engine):
    """No pipeline event: the stages and the pipeline come from the deals of one batch, each from the first
    snapshot that names it with a position (a snapshot without one names nothing), the same deal moving twice."""
    pipeline = PipelineDef.make([("Lead", 10, 5), ("Offer", 50, 10), ("Contract", 80, None)], name="Told first")
    vague = DealLife(pipeline, new_id(), client_card(new_id(), new_id(), at(0)), Decimal("100.00"))
    moving = DealLife(pipeline, new_id(), client_card(new_id(), new_id(), at(0)), Decimal("200.00"))
    untold = vague.create(at(1))
    untold.data.update(stage_position=None, stage_name="Not this name", pipeline_name="Not this one")
    created = moving.create(at(2))
    first_move = moving.move(at(3), 1)
    renamed = PipelineDef(pipeline.pipeline_id, "Told later", [{**stage, "name": stage["name"] + " (later)"}
                                                               for stage in pipeline.stages])
    moving.pipeline = renamed
    second_move = moving.move(at(4), 2)  # names Offer (as its previous stage) and Contract under other names

    feed([untold, created, first_move, second_move])

    stages = {str(s.stage_id): (s.name, s.position, str(s.pipeline_id)) for s in rows(analytics_engine, Stage)}
    assert stages == {stage["stage_id"]: (stage["name"] if stage["position"] < 2 else "Contract (later)",
                                          stage["position"], pipeline.pipeline_id) for stage in pipeline.stages}
    [named] = rows(analytics_engine, Pipeline)
    assert (str(named.pipeline_id), named.name, named.is_default) == (pipeline.pipeline_id, "Told first", False)
    [deal] = [d for d in rows(analytics_engine, Deal) if str(d.deal_id) == moving.deal_id]
    assert deal.stage_position == 2
    stays = [(str(e.stage_id), e.entered_at, e.left_at) for e in rows(analytics_engine, StageEntry, StageEntry.entered_at)
             if str(e.deal_id) == moving.deal_id]
    assert stays == [(s, entered, left) for s, entered, left in moving.stays]


def test_a_stay_reported_again_unchanged_is_not_written_again(feed, analytics_engine):
    """A deal event that leaves its stay as it is (an update, a reassignment) does not write a new version of it
    (its xmin stays); one that ends it does."""
    pipeline = PipelineDef.make([("Lead", 10, 5), ("Offer", 50, 10)])
    life = DealLife(pipeline, new_id(), client_card(new_id(), new_id(), at(0)), Decimal("100.00"))

    def versions():
        with analytics_engine.connect() as conn:
            return dict(conn.execute(text("SELECT entered_at, xmin::text FROM stage_entries WHERE deal_id = :d"),
                                     {"d": life.deal_id}).all())

    feed([pipeline.event(at(0)), life.create(at(1))])
    first = versions()
    feed([life.update(at(2), title="Renamed"), life.reassign(at(3), new_id())])
    assert versions() == first
    feed([life.move(at(4), 1)])
    moved = versions()
    assert moved[at(1)] != first[at(1)] and len(moved) == 2
    [lead] = [e for e in rows(analytics_engine, StageEntry) if e.entered_at == at(1)]
    assert lead.left_at == at(4)


def test_duplicated_and_reordered_deal_events_end_in_the_same_rows(feed, analytics_engine):
    pipeline = PipelineDef.make([("Lead", 10, 5), ("Offer", 50, 10)])
    life = DealLife(pipeline, new_id(), client_card(new_id(), new_id(), at(0)), Decimal("500.00"))
    events = [pipeline.event(at(0)), life.create(at(1)), life.move(at(50), 1), life.update(at(70), amount=Decimal("700")),
              life.win(at(90))]

    def state():
        return ([(d.status, d.amount, d.stage_id, d.closed_at) for d in rows(analytics_engine, Deal)],
                [(e.stage_id, e.entered_at, e.left_at) for e in rows(analytics_engine, StageEntry, StageEntry.entered_at)])

    feed(events)
    expected = state()
    assert expected[0][0][:2] == ("won", Decimal("700.00"))
    with analytics_engine.begin() as conn:  # start again, from nothing
        conn.execute(text("truncate deals, stage_entries, stages, pipelines, processed_events"))
    feed(list(reversed(events)) + events[2:4])  # newest first, then two again (new copies of old events)
    assert state() == expected
    feed(events)  # the same events again: the inbox skips them
    assert state() == expected


def test_a_deal_carries_its_client_cards_campaign_now_whichever_event_came_first(feed, analytics_engine):
    pipeline = PipelineDef.make([("Lead", 10, 5), ("Offer", 50, 10)])
    first, second, own = new_id(), new_id(), new_id()
    card = client_card(new_id(), new_id(), at(0), campaign_id=first)
    plain = DealLife(pipeline, new_id(), card, Decimal("100.00"))
    marked = DealLife(pipeline, new_id(), card, Decimal("200.00"), campaign_id=own)
    other = DealLife(pipeline, new_id(), client_card(new_id(), new_id(), at(0)), Decimal("300.00"))  # no card event

    def carried():
        return {str(d.deal_id): (d.campaign_id and str(d.campaign_id),
                                 d.client_campaign_id and str(d.client_campaign_id))
                for d in rows(analytics_engine, Deal)}

    feed([pipeline.event(at(0)), plain.create(at(1)), marked.create(at(1)), other.create(at(1))])
    assert carried() == {plain.deal_id: (None, None), marked.deal_id: (own, None), other.deal_id: (None, None)}
    feed([client_created(card)])  # the card after its deals: it reaches them
    assert carried() == {plain.deal_id: (None, first), marked.deal_id: (own, first), other.deal_id: (None, None)}
    feed([client_updated({**card, "campaign_id": second}, at(5), ("campaign_id",))])
    feed([plain.move(at(6), 1)])  # a later deal event keeps the card's campaign
    assert carried() == {plain.deal_id: (None, second), marked.deal_id: (own, second), other.deal_id: (None, None)}
    feed([client_updated({**card, "campaign_id": None}, at(7), ("campaign_id",))])
    assert carried()[plain.deal_id] == (None, None)
    feed([client_updated({**card, "campaign_id": first}, at(4), ("campaign_id",))])  # older than the card: no effect
    assert carried()[plain.deal_id] == (None, None)


def test_unknown_types_are_skipped_and_counted_and_unknown_fields_ignored(feed, analytics_engine):
    def skipped(event_type):
        return REGISTRY.get_sample_value("analytics_events_skipped_total", {"type": event_type}) or 0

    before = skipped("crm.deal.split.v2")
    odd = event("deals", "crm.deal.split.v2", new_id(), {"whatever": 1}, at(0))
    user = user_created(new_id(), at=at(0))
    user.data["favourite_colour"] = "green"  # a property a later version of the producer adds
    feed([odd, user, odd])
    assert skipped("crm.deal.split.v2") == before + 1  # the second copy is a duplicate: the inbox skips it
    assert len(rows(analytics_engine, User)) == 1


def test_a_broken_payload_is_dead_lettered_and_the_next_event_applied(feed, analytics_engine):
    broken = event("deals", "crm.deal.created.v1", "not-a-uuid", {"deal_id": "not-a-uuid"}, at(0))
    no_amount = event("deals", "crm.deal.created.v1", new_id(), {"status": "open"}, at(0))
    dead = DeadLetters()
    feed([broken, no_amount, user_created(new_id(), at=at(1))], dead_letters=dead)
    assert [letter["topic"] for letter in dead] == ["crm.deals.events.dlq"] * 2
    assert dead[0]["headers"]["dlq_consumer"] == "analytics"
    assert len(rows(analytics_engine, User)) == 1 and rows(analytics_engine, Deal) == []


def test_a_malformed_id_inside_a_payload_costs_only_its_own_event(feed, analytics_engine):
    """Ids inside payloads are checked by PostgreSQL's uuid cast: the bulk statement fails, the batch is applied
    again one event at a time, and only the broken event is set aside."""
    owner = new_id()
    broken = client_card(new_id(), owner, at(0))
    broken["owner_id"] = "not-a-uuid"
    good = [client_created(client_card(new_id(), owner, at(0))) for _ in range(3)]
    dead = DeadLetters()
    feed([good[0], client_created(broken), *good[1:]], dead_letters=dead)
    assert [letter["topic"] for letter in dead] == ["crm.clients.events.dlq"]
    assert "not-a-uuid" in dead[0]["headers"]["dlq_error"]
    assert sorted(str(c.client_id) for c in rows(analytics_engine, Client)) == sorted(e.subject for e in good)


def test_not_needed_types_are_acknowledged_without_effect(feed, analytics_engine):
    contact = event("clients", "crm.contact.created.v1", new_id(), {"contact_id": new_id()}, at(0))
    feed([contact])
    with analytics_engine.connect() as conn:
        assert conn.scalar(text("select count(*) from processed_events where event_id = :id"), {"id": contact.id}) == 1


def test_a_survey_is_recorded_once(feed, analytics_engine):
    from services.analytics.models import Survey
    from tests.support.analytics.events import survey_recorded

    survey = survey_recorded(new_id(), new_id(), new_id(), "nps", 9, T0.date(), at(0))
    # A second event about the same answer (with another id, so the inbox lets it through) changes nothing.
    again = event("clients", survey.type, survey.subject, {**survey.data, "score": 3}, at(1))
    feed([survey, again])
    assert [s.score for s in rows(analytics_engine, Survey)] == [9]
