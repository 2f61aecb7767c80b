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
