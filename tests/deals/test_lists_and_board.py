"""The deal list's filters (stalled and past_due exactly at their boundaries, with the service's clock set by the
test), sorting and keyset pages, the stage history's days, and the board's counts and sums per currency."""
from datetime import datetime, timedelta

import pytest

from tests.support.deals import RUB, T0, open_deal
from tests.support.http import assert_error

EUR = {"amount": "1000.50", "currency": "EUR"}


def ids(response) -> list[str]:
    assert response.status_code == 200, response.json
    return [item["id"] for item in response.json["items"]]


@pytest.fixture
def mine(manager, known_client, clock) -> str:
    return known_client(manager)


# -- stalled and past due ------------------------------------------------------------------------------

def test_stalled_starts_the_moment_after_sla_days_in_the_stage(manager, mine, pipeline, clock):
    deal = open_deal(manager, mine)  # Qualification: sla_days 7, entered at T0
    path = f"/api/v1/deals/{deal['id']}"
    clock.now = T0 + timedelta(days=7)
    assert ids(manager.get("/api/v1/deals?stalled=true")) == []
    assert ids(manager.get("/api/v1/deals?stalled=false")) == [deal["id"]]
    assert manager.get(path).json["stalled"] is False
    clock.now = T0 + timedelta(days=7, microseconds=1)
    assert ids(manager.get("/api/v1/deals?stalled=true")) == [deal["id"]]
    assert ids(manager.get("/api/v1/deals?stalled=false")) == []
    assert manager.get(path).json["stalled"] is True

    # A move starts the count again in the new stage (Needs analysis: 14 days).
    manager.post(f"{path}/move", json={"stage_id": pipeline["stages"][1]["id"]})
    assert ids(manager.get("/api/v1/deals?stalled=true")) == []
    clock.advance(days=14, microseconds=1)
    assert ids(manager.get("/api/v1/deals?stalled=true")) == [deal["id"]]
    # A closed deal is never stalled.
    manager.post(f"{path}/win", json={})
    assert ids(manager.get("/api/v1/deals?stalled=true")) == []
    assert manager.get(path).json["stalled"] is False


def test_a_stage_without_sla_days_never_stalls(head, manager, mine, pipeline, clock):
    first = pipeline["stages"][0]
    head.patch(f"/api/v1/pipelines/{pipeline['id']}/stages/{first['id']}", json={"sla_days": None})
    deal = open_deal(manager, mine)
    clock.advance(days=3650)
    assert ids(manager.get("/api/v1/deals?stalled=true")) == []
    assert manager.get(f"/api/v1/deals/{deal['id']}").json["stalled"] is False
    # A changed SLA applies at once to the deals standing there.
    head.patch(f"/api/v1/pipelines/{pipeline['id']}/stages/{first['id']}", json={"sla_days": 30})
    assert ids(manager.get("/api/v1/deals?stalled=true")) == [deal["id"]]


def test_the_list_the_board_and_the_deal_agree_on_stalled_through_sla_changes(head, manager, mine, pipeline, clock):
    first = pipeline["stages"][0]  # Qualification: sla_days 7
    stage_path = f"/api/v1/pipelines/{pipeline['id']}/stages/{first['id']}"
    standing, closed = open_deal(manager, mine), open_deal(manager, mine)
    manager.post(f"/api/v1/deals/{closed['id']}/win", json={})

    def seen() -> tuple:
        board = head.get(f"/api/v1/pipelines/{pipeline['id']}/board").json["columns"][0]["stalled"]
        return (ids(manager.get("/api/v1/deals?stalled=true")), board,
                manager.get(f"/api/v1/deals/{standing['id']}").json["stalled"])

    clock.advance(days=6)
    assert seen() == ([], 0, False)
    head.patch(stage_path, json={"sla_days": 5})  # shorter: past it now
    assert seen() == ([standing["id"]], 1, True)
    head.patch(stage_path, json={"sla_days": 30})  # longer: within it again
    assert seen() == ([], 0, False)
    head.patch(stage_path, json={"sla_days": 2})
    manager.post(f"/api/v1/deals/{closed['id']}/reopen")  # enters the stage now: its own count starts
    assert ids(manager.get("/api/v1/deals?stalled=true")) == [standing["id"]]
    clock.advance(days=2, microseconds=1)
    assert sorted(ids(manager.get("/api/v1/deals?stalled=true"))) == sorted([standing["id"], closed["id"]])
    head.patch(stage_path, json={"sla_days": None})
    assert seen() == ([], 0, False)


def test_past_due_starts_the_day_after_the_expected_close(manager, mine, clock):
    due = open_deal(manager, mine, expected_close_on="2026-03-10")
    undated = open_deal(manager, mine, expected_close_on=None)
    later = open_deal(manager, mine, expected_close_on="2026-03-11")
    clock.now = T0.replace(day=10, hour=23, minute=59, second=59, microsecond=999999)
    assert ids(manager.get("/api/v1/deals?past_due=true")) == []
    assert manager.get(f"/api/v1/deals/{due['id']}").json["past_due"] is False
    clock.now = T0.replace(day=11, hour=0, minute=0)
    assert ids(manager.get("/api/v1/deals?past_due=true")) == [due["id"]]
    assert manager.get(f"/api/v1/deals/{due['id']}").json["past_due"] is True
    assert set(ids(manager.get("/api/v1/deals?past_due=false"))) == {undated["id"], later["id"]}
    manager.post(f"/api/v1/deals/{due['id']}/win", json={})
    assert ids(manager.get("/api/v1/deals?past_due=true")) == []


# -- filters, sorting and pages ------------------------------------------------------------------------

def test_the_filters_combine_in_the_database(manager, other_manager, head, known_client, known_user, pipeline,
                                             reasons, clock):
    steel = known_client(manager, name="Volga Steel Works")
    agro = known_client(manager, name="Ural Agro")
    theirs = known_client(other_manager)
    small = open_deal(manager, steel, title="Spare parts", amount={"amount": "900.00", "currency": "RUB"})
    clock.advance(days=1)
    big = open_deal(manager, agro, title="Irrigation pumps", amount={"amount": "2800000.00", "currency": "RUB"},
                    stage_id=pipeline["stages"][3]["id"])
    euro = open_deal(manager, steel, title="Alloy (EU)", amount=EUR)
    clock.advance(days=1)
    other = open_deal(other_manager, theirs, title="Spare wheels")
    manager.post(f"/api/v1/deals/{small['id']}/lose", json={"reason_id": reasons["Timing"], "comment": "Later"})
    clock.advance(days=1)
    manager.post(f"/api/v1/deals/{euro['id']}/win", json={})

    assert ids(manager.get(f"/api/v1/deals?client_id={steel}&sort=created_at")) == [small["id"], euro["id"]]
    assert ids(manager.get("/api/v1/deals?status=open")) == [big["id"]]
    assert ids(manager.get(f"/api/v1/deals?stage_id={pipeline['stages'][3]['id']}")) == [big["id"]]
    assert len(ids(manager.get(f"/api/v1/deals?pipeline_id={pipeline['id']}"))) == 3
    assert ids(manager.get("/api/v1/deals?amount_min=1000&currency=RUB")) == [big["id"]]
    assert ids(manager.get("/api/v1/deals?amount_min=900&amount_max=1000.50&sort=amount")) == [small["id"],
                                                                                              euro["id"]]
    assert ids(manager.get("/api/v1/deals?currency=EUR")) == [euro["id"]]
    assert ids(manager.get("/api/v1/deals?created_from=2026-03-03&created_to=2026-03-03&sort=title")) == [
        euro["id"], big["id"]]
    assert ids(manager.get("/api/v1/deals?closed_from=2026-03-05")) == [euro["id"]]
    assert ids(manager.get("/api/v1/deals?closed_to=2026-03-04")) == [small["id"]]
    assert ids(manager.get("/api/v1/deals?q=spare")) == [small["id"]]  # not the other manager's
    assert ids(manager.get("/api/v1/deals?q=%25")) == []  # LIKE wildcards are taken literally
    assert set(ids(head.get("/api/v1/deals?q=SPARE"))) == {small["id"], other["id"]}
    assert ids(head.get(f"/api/v1/deals?owner_id={other_manager.user_id}")) == [other["id"]]
    assert ids(manager.get(f"/api/v1/deals?owner_id={other_manager.user_id}")) == []
    assert head.get("/api/v1/deals").json["total"] == 4


def test_keyset_pages_walk_every_deal_once_in_each_sort(manager, mine, clock):
    opened = []
    for i, amount in enumerate(["5.00", "1.00", "5.00", "3.00", "2.00"]):
        opened.append(open_deal(manager, mine, title=f"Deal {i}", amount={"amount": amount, "currency": "RUB"}))
        clock.advance(minutes=1)
    for sort, expected in (("-created_at", [d["id"] for d in reversed(opened)]),
                           ("title", [d["id"] for d in opened])):
        seen, cursor = [], None
        while True:
            page = manager.get(f"/api/v1/deals?sort={sort}&limit=2" + (f"&cursor={cursor}" if cursor else "")).json
            assert page["total"] == 5 and page["total_is_estimate"] is False
            seen += [item["id"] for item in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert seen == expected, sort
    by_amount = []
    cursor = None
    while True:
        page = manager.get("/api/v1/deals?sort=-amount&limit=2" + (f"&cursor={cursor}" if cursor else "")).json
        by_amount += [item["amount"]["amount"] for item in page["items"]]
        if not (cursor := page["next_cursor"]):
            break
    assert by_amount == ["5.00", "5.00", "3.00", "2.00", "1.00"]


def test_stalled_pages_walk_the_stalled_deals_once_newest_first_in_both_directions(manager, mine, pipeline, clock):
    opened = []
    for i in range(5):
        opened.append(open_deal(manager, mine, title=f"Deal {i}"))
        clock.advance(minutes=1)
    manager.post(f"/api/v1/deals/{opened[2]['id']}/move", json={"stage_id": pipeline["stages"][1]["id"]})
    clock.advance(days=7, minutes=10)  # all but the moved one past Qualification's 7 days
    stalled = [d["id"] for d in opened if d is not opened[2]]
    for sort, expected in (("-created_at", list(reversed(stalled))), ("created_at", stalled)):
        seen, cursor = [], None
        while True:
            page = manager.get(f"/api/v1/deals?stalled=true&sort={sort}&limit=2"
                               + (f"&cursor={cursor}" if cursor else "")).json
            assert page["total"] == 4 and all(item["stalled"] for item in page["items"])
            seen += [item["id"] for item in page["items"]]
            if not (cursor := page["next_cursor"]):
                break
        assert seen == expected, sort


def test_the_gateway_overview_asks_for_a_clients_open_deals(manager, known_client, reasons):
    steel, agro = known_client(manager), known_client(manager)
    wanted = open_deal(manager, steel)
    open_deal(manager, agro)
    closed = open_deal(manager, steel)
    manager.post(f"/api/v1/deals/{closed['id']}/lose", json={"reason_id": reasons["Timing"], "comment": "x"})
    page = manager.get(f"/api/v1/deals?client_id={steel}&status=open")  # what gateway/overview.py sends
    assert ids(page) == [wanted["id"]] and page.json["items"][0]["client_name"] == "Volga Steel Works"


# -- history -------------------------------------------------------------------------------------------

def test_history_days_count_to_now_for_the_current_stay(manager, mine, pipeline, clock):
    deal = open_deal(manager, mine)
    clock.advance(hours=36)
    manager.post(f"/api/v1/deals/{deal['id']}/move", json={"stage_id": pipeline["stages"][2]["id"]})
    clock.advance(hours=6)
    history = manager.get(f"/api/v1/deals/{deal['id']}/history").json
    assert history["deal_id"] == deal["id"]
    assert [(h["stage_name"], h["stage_position"], h["days"], h["left_at"] is None) for h in history["items"]] == [
        ("Qualification", 0, 1.5, False), ("Proposal", 2, 0.25, True)]
    clock.advance(days=2)
    assert manager.get(f"/api/v1/deals/{deal['id']}/history").json["items"][-1]["days"] == 2.25


# -- the board -----------------------------------------------------------------------------------------

def test_the_board_counts_and_sums_per_stage_and_currency(manager, other_manager, head, known_client, pipeline,
                                                          reasons, clock):
    mine, theirs = known_client(manager), known_client(other_manager)
    first, third = pipeline["stages"][0]["id"], pipeline["stages"][2]["id"]
    open_deal(manager, mine, amount={"amount": "100.10", "currency": "RUB"})
    open_deal(manager, mine, amount={"amount": "200.20", "currency": "RUB"})
    open_deal(manager, mine, amount=EUR)
    open_deal(manager, mine, stage_id=third, amount={"amount": "7.00", "currency": "USD"})
    open_deal(other_manager, theirs, amount=RUB)
    won = open_deal(manager, mine, stage_id=third, amount={"amount": "5000.00", "currency": "RUB"})
    lost = open_deal(other_manager, theirs, stage_id=third, amount={"amount": "300.00", "currency": "RUB"})
    clock.advance(days=8)  # everything in Qualification (7 days) is stalled now; Proposal has 10
    manager.post(f"/api/v1/deals/{won['id']}/win", json={})
    other_manager.post(f"/api/v1/deals/{lost['id']}/lose", json={"reason_id": reasons["Timing"], "comment": "x"})

    board = manager.get(f"/api/v1/pipelines/{pipeline['id']}/board").json
    assert board["owner_id"] == manager.user_id and board["name"] == "Sales"
    columns = {column["stage"]["id"]: column for column in board["columns"]}
    assert [column["stage"]["name"] for column in board["columns"]] == [s["name"] for s in pipeline["stages"]]
    assert (columns[first]["count"], columns[first]["stalled"]) == (3, 3)
    assert columns[first]["amounts"] == [{"amount": "1000.50", "currency": "EUR"},
                                         {"amount": "300.30", "currency": "RUB"}]
    assert (columns[third]["count"], columns[third]["stalled"], columns[third]["amounts"]) == (
        1, 0, [{"amount": "7.00", "currency": "USD"}])
    assert columns[pipeline["stages"][1]["id"]] | {"stage": None} == {"stage": None, "count": 0, "amounts": [],
                                                                     "stalled": 0, "hand_offs": 0}
    assert board["won"] == {"count": 1, "amounts": [{"amount": "5000.00", "currency": "RUB"}]}
    assert board["lost"] == {"count": 0, "amounts": []}
    assert board["closed_from"] == "2026-02-08"

    everyone = head.get(f"/api/v1/pipelines/{pipeline['id']}/board").json
    assert everyone["owner_id"] is None
    assert [c["count"] for c in everyone["columns"]] == [4, 0, 1, 0, 0]
    assert everyone["columns"][0]["amounts"][1] == {"amount": "150300.30", "currency": "RUB"}
    assert everyone["lost"] == {"count": 1, "amounts": [{"amount": "300.00", "currency": "RUB"}]}
    one = head.get(f"/api/v1/pipelines/{pipeline['id']}/board?owner_id={other_manager.user_id}").json
    assert [c["count"] for c in one["columns"]] == [1, 0, 0, 0, 0] and one["won"]["count"] == 0
    since = head.get(f"/api/v1/pipelines/{pipeline['id']}/board?closed_from=2026-03-11").json
    assert since["won"]["count"] == since["lost"]["count"] == 0
    # A manager asking for someone else's board sees nothing of theirs.
    peek = manager.get(f"/api/v1/pipelines/{pipeline['id']}/board?owner_id={other_manager.user_id}").json
    assert [c["count"] for c in peek["columns"]] == [0, 0, 0, 0, 0]
    assert_error(head.get(f"/api/v1/pipelines/{pipeline['id']}/board?owner_id=me"), 422, "owner_id")
    assert_error(head.get(f"/api/v1/pipelines/{pipeline['id']}/board?limit=5"), 422, "limit")


def totals_disagree(engine) -> list:
    """The rows where open_deal_totals (kept by the trigger) and the open deals themselves differ."""
    with engine.connect() as conn:
        return conn.exec_driver_sql("""
            SELECT * FROM (SELECT stage_id, owner_id, currency, sum(deals) AS n, sum(amount) AS total
                           FROM open_deal_totals GROUP BY 1, 2, 3 HAVING sum(deals) <> 0) kept
            FULL JOIN (SELECT stage_id, owner_id, amount_currency AS currency, count(*) AS n,
                              sum(amount_amount) AS total
                       FROM deals WHERE status = 'open' GROUP BY 1, 2, 3) real USING (stage_id, owner_id, currency)
            WHERE kept.n IS DISTINCT FROM real.n OR kept.total IS DISTINCT FROM real.total""").all()


def test_the_boards_totals_follow_every_change_of_an_open_deal(manager, head, mine, pipeline, reasons, known_user,
                                                               deals_engine):
    stages = [stage["id"] for stage in pipeline["stages"]]
    colleague = known_user(role="manager")
    a, b, c = (open_deal(manager, mine, amount={"amount": f"{n}00.00", "currency": "RUB"}) for n in (1, 2, 3))
    manager.post(f"/api/v1/deals/{a['id']}/move", json={"stage_id": stages[2]})
    manager.patch(f"/api/v1/deals/{b['id']}", json={"amount": EUR})
    manager.patch(f"/api/v1/deals/{b['id']}", json={"title": "Renamed only"})
    manager.post(f"/api/v1/deals/{c['id']}/win", json={})
    manager.post(f"/api/v1/deals/{c['id']}/reopen")
    manager.post(f"/api/v1/deals/{a['id']}/lose", json={"reason_id": reasons["Timing"], "comment": "x"})
    head.post(f"/api/v1/deals/{b['id']}/assign", json={"owner_id": colleague})
    assert totals_disagree(deals_engine) == []
    columns = head.get(f"/api/v1/pipelines/{pipeline['id']}/board").json["columns"]
    assert [(c["count"], c["amounts"]) for c in columns[:3]] == [
        (2, [{"amount": "1000.50", "currency": "EUR"}, {"amount": "300.00", "currency": "RUB"}]), (0, []), (0, [])]


def test_moves_in_opposite_directions_at_the_same_time_do_not_deadlock(deals_app, manager, mine, pipeline,
                                                                       deals_engine):
    import threading

    first, second = pipeline["stages"][0]["id"], pipeline["stages"][1]["id"]
    up, down = open_deal(manager, mine, stage_id=first), open_deal(manager, mine, stage_id=second)
    failures = []

    def shuttle(deal_id: str, stages: list[str]):
        caller = type(manager)(deals_app.test_client(), manager.headers["Authorization"].split()[1],
                               manager.user_id, "manager")
        for i in range(15):
            response = caller.post(f"/api/v1/deals/{deal_id}/move", json={"stage_id": stages[i % 2]})
            if response.status_code != 200:
                failures.append(response.json)

    threads = [threading.Thread(target=shuttle, args=(up["id"], [second, first])),
               threading.Thread(target=shuttle, args=(down["id"], [first, second]))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert failures == [] and totals_disagree(deals_engine) == []


def test_one_deal_moved_from_two_sessions_at_once_keeps_one_chain_of_stays(deals_app, manager, mine, pipeline,
                                                                           deals_engine, monkeypatch):
    import itertools
    import threading
    import time

    from glassbox import clock as kit_clock

    stages = [stage["id"] for stage in pipeline["stages"][:3]]
    deal = open_deal(manager, mine, stage_id=stages[0])
    ticks, tick_lock = itertools.count(1), threading.Lock()

    def ticking() -> datetime:  # a millisecond later at every reading, as a real clock moves on
        with tick_lock:
            tick = next(ticks)
        if tick % 2:
            time.sleep(0.005)  # a later reading may get ahead of this one: the time must be read under the lock
        return T0 + timedelta(milliseconds=tick)

    monkeypatch.setattr(kit_clock, "now", ticking)
    answers = []

    def mover(offset: int):
        caller = type(manager)(deals_app.test_client(), manager.headers["Authorization"].split()[1],
                               manager.user_id, "manager")
        for i in range(12):
            answers.append(caller.post(f"/api/v1/deals/{deal['id']}/move",
                                       json={"stage_id": stages[(i + offset) % 3]}).status_code)

    threads = [threading.Thread(target=mover, args=(offset,)) for offset in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    moved = answers.count(200)
    assert len(answers) == 24 and set(answers) <= {200, 409} and moved > 0  # 409: already in that stage
    with deals_engine.connect() as conn:
        stays = conn.exec_driver_sql("SELECT stage_id::text, entered_at, left_at FROM deal_stage_entries "
                                     "WHERE deal_id = %(id)s ORDER BY id", {"id": deal["id"]}).all()  # as written
        version, current = conn.exec_driver_sql("SELECT version, stage_id::text FROM deals WHERE id = %(id)s",
                                                {"id": deal["id"]}).one()
    assert len(stays) == moved + 1 and [stay.left_at for stay in stays].count(None) == 1
    # each move ends the stay before it, at a later time than that stay began
    assert all(stays[i].entered_at < stays[i].left_at == stays[i + 1].entered_at for i in range(moved))
    assert stays[-1].left_at is None and stays[-1].stage_id == current and version == moved + 1
    assert totals_disagree(deals_engine) == []
