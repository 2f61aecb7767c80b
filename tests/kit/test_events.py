"""The CloudEvents envelope in Kafka binary mode, both ways."""
import uuid
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from glassbox.events import DomainEvent


def test_binary_mode_headers_key_and_value_round_trip():
    aggregate = str(uuid.uuid4())
    event = DomainEvent(type="crm.client.created.v1", source="/crm/clients", subject=aggregate,
                        data={"client_id": uuid.UUID(aggregate), "amount": Decimal("1250.00"),
                              "at": datetime(2026, 11, 27, 10, 0, tzinfo=timezone.utc)})
    message = event.to_kafka()
    assert message.key == aggregate.encode()
    assert message.headers["ce_id"] == event.id.encode()
    assert message.headers["ce_type"] == b"crm.client.created.v1"
    assert message.headers["ce_source"] == b"/crm/clients"
    assert message.headers["ce_specversion"] == b"1.0"
    assert message.headers["ce_subject"] == aggregate.encode()
    assert message.headers["content-type"] == b"application/json"
    assert message.headers["ce_time"].endswith(b"Z")
    back = DomainEvent.from_kafka(list(message.headers.items()), message.key, message.value)
    assert back.id == event.id and back.type == event.type and back.subject == aggregate
    assert back.data == {"client_id": aggregate, "amount": "1250.00", "at": "2026-11-27T10:00:00Z"}
    assert back.time == event.time


@pytest.mark.parametrize("headers,value", [
    ([], b"{}"),                                                             # no attributes at all
    ([("ce_type", b"x"), ("ce_specversion", b"1.0")], b"{}"),                # id and source missing
    ([("ce_id", b"1"), ("ce_type", b"t"), ("ce_source", b"/s"), ("ce_specversion", b"1.0"),
      ("content-type", b"application/json")], b"{not json"),                 # payload not JSON
    ([("ce_id", b"1"), ("ce_type", b"t"), ("ce_source", b"/s"), ("ce_specversion", b"1.0"),
      ("content-type", b"application/json")], b"[1, 2]"),                    # payload not an object
    ([("ce_id", b"1"), ("ce_type", b"t"), ("ce_source", b"/s"), ("ce_specversion", b"0.3")], b"{}"),  # not 1.0
    ([("ce_id", b"1"), ("ce_type", b"t"), ("ce_source", b"/s"), ("ce_specversion", b"1.0"),
      ("ce_time", b"yesterday")], b"{}"),                                    # a time that is not RFC 3339
    ([("ce_id", b"1"), ("ce_type", b"t"), ("ce_source", b"/s"), ("ce_specversion", b"1.0"),
      ("ce_time", b"2026-11-27T10:00:00")], b"{}"),                          # a time without its offset
])
def test_malformed_records_are_a_value_error(headers, value):
    with pytest.raises(ValueError):
        DomainEvent.from_kafka(headers, b"k", value)


def test_a_record_written_by_the_sdk_elsewhere_reads_the_same():
    """The reader is ours; the envelope it reads is the cloudevents SDK's (another producer may use it too)."""
    from cloudevents.core.bindings import kafka as ce_kafka
    from cloudevents.core.formats.json import JSONFormat
    from cloudevents.core.v1.event import CloudEvent

    sent = CloudEvent(attributes={"id": "e-1", "type": "crm.deal.won.v1", "source": "/crm/deals", "subject": "d-1",
                                  "time": datetime(2026, 11, 27, 10, 0, 0, 123456, tzinfo=timezone.utc),
                                  "specversion": "1.0", "datacontenttype": "application/json"},
                      data={"deal_id": "d-1", "extra": [1, 2]})
    message = ce_kafka.to_binary(sent, JSONFormat())
    back = DomainEvent.from_kafka(list(message.headers.items()), message.key, message.value)
    assert (back.id, back.type, back.source, back.subject) == ("e-1", "crm.deal.won.v1", "/crm/deals", "d-1")
    assert back.time == datetime(2026, 11, 27, 10, 0, 0, 123456, tzinfo=timezone.utc)
    assert back.data == {"deal_id": "d-1", "extra": [1, 2]}


def test_event_time_is_sent_in_utc_whatever_the_time_zone_it_was_read_in():
    moscow = timezone(timedelta(hours=3))
    event = DomainEvent(type="crm.client.created.v1", source="/crm/clients", subject="k", data={},
                        time=datetime(2026, 11, 27, 13, 0, tzinfo=moscow))
    assert event.to_kafka().headers["ce_time"] == b"2026-11-27T10:00:00Z"


def _sdk_record(attributes: dict, data):
    """What the cloudevents SDK's binary mode writes for the same event: the reference of `envelope`."""
    from cloudevents.core.bindings import kafka as ce_kafka
    from cloudevents.core.formats.json import JSONFormat
    from cloudevents.core.v1.event import CloudEvent

    subject = attributes["subject"]
    return ce_kafka.to_binary(CloudEvent(attributes=dict(attributes), data=data), JSONFormat(),
                              key_mapper=lambda _event: subject.encode())


@pytest.mark.parametrize("request_id", [None, "3f1c2b7e-a8d4-4e5f-9a6b-0c1d2e3f4a5b"])
@pytest.mark.parametrize("data", [
    {"client_id": "c-1", "name": "ООО «Ромашка»", "amount": "1250.00", "tags": ["a", "b"], "n": 3, "x": 1.5,
     "none": None, "ok": True, "nested": {"at": "2026-11-27T10:00:00Z"}},
    {},
    '{"client_id": "c-1", "name": "ООО «Ромашка»"}',  # the payload's JSON text, as the relay reads it
])
def test_the_envelope_writes_exactly_what_the_sdk_writes(data, request_id):
    from glassbox.events import envelope

    moscow = timezone(timedelta(hours=3))
    for time in (datetime(2026, 11, 27, 13, 0, 0, 123456, tzinfo=moscow), datetime(2026, 11, 27, 10, 0, tzinfo=timezone.utc)):
        attributes = {"id": "e-1", "type": "crm.client.created.v1", "source": "/crm/clients", "subject": "c-1",
                      "time": time.astimezone(timezone.utc), "specversion": "1.0",
                      "datacontenttype": "application/json", **({"requestid": request_id} if request_id else {})}
        ours = envelope("e-1", "crm.client.created.v1", "/crm/clients", "c-1", time, data, request_id)
        sdk = _sdk_record(attributes, data)
        assert ours.key == sdk.key and ours.value == sdk.value
        assert list(ours.headers.items()) == list(sdk.headers.items())  # the same headers, in the same order


def test_the_envelope_encodes_datetimes_in_the_payload_as_the_sdk_does():
    from glassbox.events import envelope

    data = {"at": datetime(2026, 11, 27, 10, 0, tzinfo=timezone.utc),
            "local": datetime(2026, 11, 27, 13, 0, tzinfo=timezone(timedelta(hours=3)))}
    attributes = {"id": "e-1", "type": "t.v1", "source": "/s", "subject": "k",
                  "time": datetime(2026, 11, 27, tzinfo=timezone.utc), "specversion": "1.0",
                  "datacontenttype": "application/json"}
    assert envelope("e-1", "t.v1", "/s", "k", attributes["time"], data).value == _sdk_record(attributes, data).value


@pytest.mark.parametrize("field", ["id", "type", "source", "subject"])
def test_an_event_without_a_required_attribute_is_refused_as_a_value_error(field):
    from glassbox.events import envelope

    attributes = {"id": "e-1", "type": "t.v1", "source": "/s", "subject": "k"}
    attributes[field] = ""
    with pytest.raises(ValueError):
        envelope(**attributes, time=datetime(2026, 11, 27, tzinfo=timezone.utc), json_data={})


def test_a_payload_that_is_not_json_is_a_type_error():
    from glassbox.events import envelope

    with pytest.raises(TypeError):
        envelope("e-1", "t.v1", "/s", "k", datetime(2026, 11, 27, tzinfo=timezone.utc), {"x": object()})
