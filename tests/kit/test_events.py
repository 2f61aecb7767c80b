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
])
def test_malformed_records_are_a_value_error(headers, value):
    with pytest.raises(ValueError):
        DomainEvent.from_kafka(headers, b"k", value)


def test_event_time_is_sent_in_utc_whatever_the_time_zone_it_was_read_in():
    moscow = timezone(timedelta(hours=3))
    event = DomainEvent(type="crm.client.created.v1", source="/crm/clients", subject="k", data={},
                        time=datetime(2026, 11, 27, 13, 0, tzinfo=moscow))
    assert event.to_kafka().headers["ce_time"] == b"2026-11-27T10:00:00Z"
