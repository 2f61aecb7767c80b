"""E-mail on a real SMTP server (the development mailbox): notification e-mails, multipart text and HTML; templates
(sandboxed Jinja2, a 422 naming the line), previews; mailings to a segment with their counts, the unsubscribe link
(no login) and the suppression list; throttled, stoppable and resumable sending that writes to nobody twice."""
import threading
import uuid
from datetime import timedelta

import pytest

from services.notifications.service import sending
from services.notifications.service.mailer import Mailer
from tests.support.http import assert_error, assert_field_error
from tests.support.notifications import T0, client_card, event

TEMPLATE = {"name": "Spring offer", "subject": "{{ client.name }}: spring prices",
            "body": "Dear {{ client.name }},\n\nyour manager {{ owner.full_name }} has news.\n"
                    "{% if deal %}About {{ deal.title }}.{% endif %}\nUnsubscribe: {{ unsubscribe_url }}\n"}


@pytest.fixture
def mailer(settings):
    box = Mailer(settings.current)
    yield box
    box.close()


@pytest.fixture
def clients(project, manager, known_user):
    """clients(n, **card) -> ids of n clients of the manager in the projection (each with its own e-mail)."""
    known_user(manager, email="anna@glassbox.test")

    def _clients(n: int, **card) -> list[str]:
        ids = [str(uuid.uuid4()) for _ in range(n)]
        for client_id in ids:
            project(event("crm.client.created.v1", client_id, client_card(client_id, manager.user_id, **card)))
        return ids
    return _clients


def send_all(db, settings, mailer, stop=None) -> None:
    """The worker's e-mail steps until nothing is left."""
    stop = stop or threading.Event()
    sender = sending.MailingSender(db, settings.current, mailer)
    while sending.start_due_mailings(db) or sending.send_emails(db, settings.current, mailer, stop) \
            or sender.send_chunk(stop):
        pass


def test_a_notification_email_is_multipart_on_the_real_smtp_server(project, manager, head, known_user, db, settings,
                                                                    mailer, mailbox, rows):
    known_user(manager, email="anna@glassbox.test")
    client_id = str(uuid.uuid4())
    project(event("crm.client.assigned.v1", client_id, {"client_id": client_id, "name": "Acme <& Co>",
                                                        "owner_id": manager.user_id, "actor_id": head.user_id}))
    send_all(db, settings, mailer)
    [letter] = mailbox.letters()
    assert letter.to == "anna@glassbox.test" and letter.subject == "Client assigned to you: Acme <& Co>"
    assert letter.message.get_content_type() == "multipart/alternative"
    assert "the client Acme <& Co>" in letter.text() and "Acme &lt;&amp; Co&gt;" in letter.html()
    assert "List-Unsubscribe" not in letter.message  # a personal notification, not a mailing
    assert rows("select state, attempts from email_messages") == [{"state": "sent", "attempts": 1}]


def test_an_email_to_an_unreachable_server_is_retried_later(project, manager, head, known_user, db, settings, rows):
    known_user(manager, email="anna@glassbox.test")
    client_id = str(uuid.uuid4())
    project(event("crm.client.assigned.v1", client_id, {"client_id": client_id, "owner_id": manager.user_id,
                                                        "actor_id": head.user_id}))
    from tests.support.http import free_port
    broken = Mailer(settings.change(smtp_port=free_port(), smtp_timeout=1.0))
    assert sending.send_emails(db, settings.current, broken, threading.Event()) == 1
    [mail] = rows("select state, attempts, last_error from email_messages")
    assert mail["state"] == "queued" and mail["attempts"] == 1 and "Connection" in mail["last_error"]


# -- templates ------------------------------------------------------------------------------------------------

def test_templates_belong_to_marketing_heads_of_sales_and_admins(marketer, head, admin, manager, accountant):
    created = marketer.post("/api/v1/templates", json=TEMPLATE)
    assert created.status_code == 201, created.json
    template = created.json
    assert head.get(f"/api/v1/templates/{template['id']}").status_code == 200
    assert admin.patch(f"/api/v1/templates/{template['id']}", json={"name": "Spring offer 2026"}).status_code == 200
    for outsider in (manager, accountant):
        assert_error(outsider.get("/api/v1/templates"), 403)
        assert_error(outsider.post("/api/v1/templates", json={**TEMPLATE, "name": "x"}), 403)
    assert_field_error(marketer.post("/api/v1/templates", json={**TEMPLATE, "name": "spring OFFER 2026"}), 409, "name")
    assert_field_error(marketer.post("/api/v1/templates", json={**TEMPLATE, "created_by": manager.user_id}), 422,
                       "created_by")
    assert [t["name"] for t in marketer.get("/api/v1/templates").json["items"]] == ["Spring offer 2026"]
    assert marketer.delete(f"/api/v1/templates/{template['id']}").status_code == 204


@pytest.mark.parametrize("part,source,line", [
    ("body", "Hello\n{{ client.name }\n", 2),
    ("body", "Hello\n\n{{ client.nosuch_field }}\n", 3),
    ("subject", "{{ ''.__class__.__mro__ }}", 1),
    ("html_body", "<p>\n{% for x in %}</p>", 2),
    ("body", "{{ 1 / 0 }}", 1)])
def test_a_template_that_does_not_render_is_a_422_with_the_line(marketer, part, source, line):
    response = marketer.post("/api/v1/templates", json={**TEMPLATE, part: source})
    body = assert_field_error(response, 422, part)
    assert body["errors"]["line"] == line and f"line {line}" in body["message"]


def test_a_preview_renders_for_the_sample_or_a_real_client(marketer, clients, project, manager):
    template = marketer.post("/api/v1/templates", json=TEMPLATE).json
    sample = marketer.post(f"/api/v1/templates/{template['id']}/preview", json={})
    assert sample.status_code == 200, sample.json
    assert sample.json["subject"] == "Volga Steel Works: spring prices" and "Anna Petrova" in sample.json["text"]
    assert sample.json["html"].startswith("<!doctype html>")
    [client_id] = clients(1, name="Ural Agro")
    deal_id = str(uuid.uuid4())
    project(event("crm.deal.created.v1", deal_id, {"deal_id": deal_id, "title": "Grain silos", "status": "open",
                                                   "client_id": client_id, "owner_id": manager.user_id},
                  source="/crm/deals"))
    real = marketer.post(f"/api/v1/templates/{template['id']}/preview",
                         json={"client_id": client_id, "deal_id": deal_id}).json
    assert real["subject"] == "Ural Agro: spring prices" and "About Grain silos." in real["text"]
    assert f"User {manager.user_id[:8]}" in real["text"]  # the owner from the users projection
    assert_field_error(marketer.post(f"/api/v1/templates/{template['id']}/preview",
                                     json={"client_id": str(uuid.uuid4())}), 422, "client_id")
    assert_error(marketer.post(f"/api/v1/templates/{uuid.uuid4()}/preview", json={}), 404)


# -- mailings ---------------------------------------------------------------------------------------------------

def test_a_mailing_to_a_segment_reaches_it_and_counts_and_an_unsubscribed_client_gets_nothing_next_time(
        head, clients, db, settings, mailer, mailbox, notifications):
    template = head.post("/api/v1/templates", json=TEMPLATE).json
    steel = clients(3, industry="steel")
    clients(2, industry="food")
    first = head.post("/api/v1/mailings", json={"name": "Steel spring", "template_id": template["id"],
                                                "audience": {"segment": "steel", "status": "active"}})
    assert first.status_code == 201, first.json
    assert first.json["state"] == "scheduled"
    send_all(db, settings, mailer)
    done = head.get(f"/api/v1/mailings/{first.json['id']}").json
    assert done["state"] == "completed"
    assert done["counts"] == {"recipients": 3, "pending": 0, "sent": 3, "failed": 0, "unsubscribed": 0, "unknown": 0}
    letters = mailbox.letters()
    assert sorted(letter.to for letter in letters) == sorted(f"buyer-{c[:8]}@volga.example" for c in steel)
    letter = letters[0]
    unsubscribe_url = str(letter.message["List-Unsubscribe"]).strip().strip("<>")
    assert letter.message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert unsubscribe_url.startswith("http://crm.test/api/v1/unsubscribe/") and unsubscribe_url in letter.text()

    token_path = unsubscribe_url.removeprefix("http://crm.test")
    left = notifications.get(token_path)  # no token: the link is the proof
    assert left.status_code == 200 and left.json == {"email": letter.to, "unsubscribed": True}
    assert notifications.post(token_path).status_code == 200  # one-click, again: nothing changes
    assert_error(notifications.get(token_path[:-3] + "AAA"), 404)
    assert_error(notifications.get("/api/v1/unsubscribe/garbage"), 404)

    second = head.post("/api/v1/mailings", json={"name": "Steel again", "template_id": template["id"],
                                                 "audience": {"segment": "steel"}}).json
    send_all(db, settings, mailer)
    counts = head.get(f"/api/v1/mailings/{second['id']}").json["counts"]
    assert (counts["recipients"], counts["sent"], counts["unsubscribed"]) == (3, 2, 1)
    assert [l.to for l in mailbox.letters()].count(letter.to) == 1
    assert [m["name"] for m in head.get("/api/v1/mailings?state=completed").json["items"]] == ["Steel again",
                                                                                               "Steel spring"]


def test_the_mailing_completed_event_and_the_authors_notification(head, clients, db, settings, mailer, mailbox,
                                                                 notifications_db_url):
    from tests.support.outbox import outbox_events
    template = head.post("/api/v1/templates", json=TEMPLATE).json
    clients(2, region="Kazan")
    mailing = head.post("/api/v1/mailings", json={"name": "Kazan", "template_id": template["id"],
                                                  "audience": {"region": "Kazan"}}).json
    send_all(db, settings, mailer)
    [completed] = [e for e in outbox_events(notifications_db_url) if e["type"] == "crm.mailing.completed.v1"]
    assert completed["key"] == mailing["id"] and completed["payload"]["sent"] == 2
    [note] = head.get("/api/v1/notifications").json["items"]
    assert note["rule"] == "mailing_completed" and "2 sent" in note["body"]


def test_mailing_input_and_access(head, manager, marketer):
    assert_error(manager.post("/api/v1/mailings", json={"name": "x", "template_id": str(uuid.uuid4())}), 403)
    assert_field_error(head.post("/api/v1/mailings", json={"name": "x", "template_id": str(uuid.uuid4())}), 422,
                       "template_id")
    template = head.post("/api/v1/templates", json=TEMPLATE).json
    for audience, field in (({"rating": "Z"}, "rating"), ({"owner_id": "me"}, "owner_id"),
                            ({"favourite_colour": "red"}, "favourite_colour")):
        assert_field_error(head.post("/api/v1/mailings", json={"name": "x", "template_id": template["id"],
                                                               "audience": audience}), 422, field)
    later = marketer.post("/api/v1/mailings", json={"name": "Later", "template_id": template["id"],
                                                    "send_at": "2099-01-01T09:00:00Z"}).json
    cancelled = marketer.post(f"/api/v1/mailings/{later['id']}/cancel")
    assert cancelled.status_code == 200 and cancelled.json["state"] == "cancelled"
    assert_error(marketer.post(f"/api/v1/mailings/{later['id']}/cancel"), 409)
    assert_error(marketer.get(f"/api/v1/mailings/{uuid.uuid4()}"), 404)


def test_a_scheduled_mailing_waits_for_its_time(head, clients, db, settings, mailer, mailbox, clock):
    template = head.post("/api/v1/templates", json=TEMPLATE).json
    clients(1)
    head.post("/api/v1/mailings", json={"name": "Monday", "template_id": template["id"],
                                        "send_at": (T0 + timedelta(hours=1)).isoformat()})
    send_all(db, settings, mailer)
    assert mailbox.letters() == []
    clock.advance(hours=1)
    send_all(db, settings, mailer)
    assert len(mailbox.letters()) == 1


def test_a_worker_stopped_mid_mailing_and_another_resuming_write_to_everyone_once(
        head, clients, db, settings, mailer, mailbox, monkeypatch):
    monkeypatch.setattr(sending, "CHUNK", 7)
    template = head.post("/api/v1/templates", json=TEMPLATE).json
    clients(40)
    mailing = head.post("/api/v1/mailings", json={"name": "All", "template_id": template["id"]}).json
    assert sending.start_due_mailings(db) == 1
    stop, sent = threading.Event(), []
    real_send = mailer.send

    def send_then_stop(message):
        real_send(message)
        sent.append(message.to)
        if len(sent) == 10:
            stop.set()  # SIGTERM in the middle of a chunk

    monkeypatch.setattr(mailer, "send", send_then_stop)
    first = sending.MailingSender(db, settings.current, mailer)
    while not stop.is_set() and first.send_chunk(stop):
        pass
    counts = head.get(f"/api/v1/mailings/{mailing['id']}").json["counts"]
    assert counts["sent"] == 10 and counts["pending"] == 30  # the stopped worker gave the rest back

    others = [sending.MailingSender(db, settings.current, Mailer(settings.current)) for _ in range(3)]
    threads = [threading.Thread(target=lambda s=s: [None for _ in iter(lambda: s.send_chunk(threading.Event()), 0)])
               for s in others]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    done = head.get(f"/api/v1/mailings/{mailing['id']}").json
    assert done["state"] == "completed" and done["counts"]["sent"] == 40
    to = [letter.to for letter in mailbox.letters()]
    assert len(to) == 40 and len(set(to)) == 40


def test_a_worker_that_died_mid_chunk_leaves_one_recipient_unknown_and_the_rest_to_others(
        head, clients, db, settings, mailer, mailbox, monkeypatch, clock, rows):
    monkeypatch.setattr(sending, "CHUNK", 5)
    template = head.post("/api/v1/templates", json=TEMPLATE).json
    clients(8)
    mailing = head.post("/api/v1/mailings", json={"name": "All", "template_id": template["id"]}).json
    sending.start_due_mailings(db)
    real_send, calls = mailer.send, []

    def dies_on_the_third(message):
        calls.append(message.to)
        if len(calls) == 3:
            real_send(message)  # the server took it, then the process died before recording it
            raise SystemExit("killed")
        real_send(message)

    monkeypatch.setattr(mailer, "send", dies_on_the_third)
    dying = sending.MailingSender(db, settings.current, mailer)
    monkeypatch.setattr(dying, "_give_back", lambda claim: None)  # a killed process gives nothing back
    with pytest.raises(SystemExit):
        dying.send_chunk(threading.Event())
    clock.advance(minutes=16)  # the claim is stale
    sending.recover(db)
    monkeypatch.setattr(mailer, "send", real_send)
    send_all(db, settings, mailer)
    counts = head.get(f"/api/v1/mailings/{mailing['id']}").json["counts"]
    assert counts == {"recipients": 8, "pending": 0, "sent": 7, "failed": 0, "unsubscribed": 0, "unknown": 1}
    [unknown] = rows("select email from mailing_recipients where state = 'unknown'")
    to = [letter.to for letter in mailbox.letters()]
    assert len(to) == 8 and len(set(to)) == 8 and unknown["email"] == calls[2]  # sent once, never again


def test_sending_is_paced(monkeypatch):
    """Each send waits for its slot, 1/rate seconds after the one before (on a clock the test moves)."""
    now = [100.0]
    monkeypatch.setattr(sending.time, "monotonic", lambda: now[0])
    stop, slots = threading.Event(), []
    stop.wait = lambda seconds: now.__setitem__(0, now[0] + seconds)  # waiting moves the clock
    pacer = sending.Pacer(rate=50.0)
    for _ in range(5):
        pacer.wait(stop)
        slots.append(now[0])
    assert [round(b - a, 6) for a, b in zip(slots, slots[1:])] == [0.02] * 4


def test_a_name_cannot_smuggle_a_header_into_an_email(project, manager, head, known_user, db, settings, mailer,
                                                     mailbox):
    known_user(manager, email="anna@glassbox.test")
    client_id = str(uuid.uuid4())
    project(event("crm.client.assigned.v1", client_id, {"client_id": client_id, "name": "Acme\r\nBcc: evil@x.example",
                                                        "owner_id": manager.user_id, "actor_id": head.user_id}))
    send_all(db, settings, mailer)
    [letter] = mailbox.letters()
    assert "Bcc" not in letter.message
    assert letter.message["Subject"] == "Client assigned to you: Acme Bcc: evil@x.example"
    assert letter.to == "anna@glassbox.test"


def test_a_subject_in_another_script_arrives_intact(project, manager, head, known_user, db, settings, mailer, mailbox):
    known_user(manager, email="anna@glassbox.test")
    client_id = str(uuid.uuid4())
    project(event("crm.client.assigned.v1", client_id, {"client_id": client_id, "name": "ООО «Волга»",
                                                        "owner_id": manager.user_id, "actor_id": head.user_id}))
    send_all(db, settings, mailer)
    [letter] = mailbox.letters()
    assert letter.subject == "Client assigned to you: ООО «Волга»"
    assert "ООО «Волга»" in letter.text()
