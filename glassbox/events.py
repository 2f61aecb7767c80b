"""Domain events as data, and their CloudEvents 1.0 envelope in Kafka binary mode.

Attributes travel in `ce_*` headers, the JSON payload is the value, the key is the aggregate id so the
events of one aggregate stay in one partition, in order. The extension attribute `requestid` names the request
whose work wrote the event (the HTTP request's X-Request-ID, or that of the event a consumer was handling), so one
request can be followed from the HTTP call through Kafka into the consumers.
"""
from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

import orjson
from cloudevents.core.bindings import kafka as ce_kafka

from glassbox import clock, logs

CONTENT_TYPE = "application/json"
# A CloudEvents extension: its name is lowercase letters and digits only, so not request_id.
REQUEST_ID_ATTRIBUTE = "requestid"
_CONTENT_TYPE_BYTES = CONTENT_TYPE.encode()


def to_jsonable(value: Any) -> Any:
    """Payload values in their wire form: UUIDs and Decimals as strings, times as UTC ISO 8601."""
    if isinstance(value, dict):
        return {k: to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")
    if hasattr(value, "isoformat"):  # date
        return value.isoformat()
    return value


def _json_default(value: Any) -> str:
    # What the SDK's JSON encoder adds to the standard one: datetimes as RFC 3339, UTC as Z.
    if isinstance(value, datetime):
        text = value.isoformat()
        return text[:-6] + "Z" if text.endswith("+00:00") else text
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def record(id: str, type: str, source: str, subject: str, time: datetime, json_data: dict | str,
           request_id: str | None = None) -> tuple[bytes, bytes, list[tuple[str, bytes]]]:
    """The Kafka record of an event as (key, value, headers): exactly the bytes and headers, in the same order,
    that the cloudevents SDK's binary mode writes (tests/kit/test_events.py compares them), built directly because
    the SDK's generic attribute handling cost the relay more CPU per event than sending the record.
    `json_data` is the payload in wire form (to_jsonable), or its JSON text, sent as it is."""
    for name, attribute in (("id", id), ("type", type), ("source", source), ("subject", subject)):
        if not isinstance(attribute, str) or not attribute:
            raise ValueError(f"CloudEvent attribute {name} must be a non-empty string, not {attribute!r}")
    stamp = time.astimezone(timezone.utc).isoformat()  # a session in another time zone must not leak
    headers = [("ce_id", id.encode()), ("ce_type", type.encode()), ("ce_source", source.encode()),
               ("ce_subject", subject.encode()), ("ce_time", (stamp[:-6] + "Z").encode()),
               ("ce_specversion", b"1.0"), ("content-type", _CONTENT_TYPE_BYTES)]
    if request_id:
        headers.append(("ce_" + REQUEST_ID_ATTRIBUTE, request_id.encode()))
    value = json_data if isinstance(json_data, str) else json.dumps(json_data, default=_json_default)
    return subject.encode(), value.encode(), headers


def envelope(id: str, type: str, source: str, subject: str, time: datetime, json_data: dict | str,
             request_id: str | None = None) -> ce_kafka.KafkaMessage:
    """The one place that builds the Kafka record of an event (CloudEvents binary mode, as the SDK writes it):
    `ce_*` headers, content-type, key = subject, the JSON value. `json_data` must already be in wire form
    (to_jsonable), or be its JSON text."""
    key, value, headers = record(id, type, source, subject, time, json_data, request_id)
    return ce_kafka.KafkaMessage(headers=dict(headers), key=key, value=value)


@dataclass(frozen=True)
class DomainEvent:
    """`type` is crm.<aggregate>.<past_tense_verb>.v<N>; `subject` is the aggregate id (and the Kafka key)."""

    type: str
    source: str
    subject: str
    data: dict
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    time: datetime = field(default_factory=lambda: clock.now())
    # The request whose work this is: built during a request (or while a consumer handles an event), it is that one.
    request_id: str | None = field(default_factory=logs.current_request_id)

    def to_kafka(self) -> ce_kafka.KafkaMessage:
        return envelope(self.id, self.type, self.source, self.subject, self.time, to_jsonable(self.data),
                        self.request_id)

    @classmethod
    def from_kafka(cls, headers: list[tuple[str, bytes]] | dict, key: bytes | None, value: bytes) -> "DomainEvent":
        """Parse a binary-mode record; raises ValueError when it is not a valid CloudEvent with JSON data.

        Read directly rather than through the SDK's reader, whose generic attribute handling cost a consumer
        applying events in bulk more CPU per event than the rest of its work on the event (bench/analytics_bench.py);
        the record is the one `envelope` writes: `ce_*` headers, a JSON object as the value."""
        # Only the attributes read below are decoded (a dict of the headers is built in C; the last of a repeated
        # header wins, as before).
        raw = dict(headers.items() if isinstance(headers, dict) else headers or ())
        id_, source, type_, specversion, subject, time, request_id = map(_text, map(raw.get, _READ_HEADERS))
        if not (id_ and source and type_ and specversion):
            missing = [name for name, value in (("id", id_), ("source", source), ("type", type_),
                                                ("specversion", specversion)) if not value]
            raise ValueError(f"not a CloudEvent in binary mode: no {', '.join('ce_' + name for name in missing)}")
        if specversion != "1.0":
            raise ValueError(f"CloudEvents spec version {specversion!r} is not 1.0")
        try:
            data = orjson.loads(value)  # a fifth of json.loads' time, the larger part of reading a record
        except (TypeError, ValueError) as exc:
            raise ValueError(f"event data is not JSON: {exc}") from exc
        if not isinstance(data, dict):
            raise ValueError("event data must be a JSON object")
        return cls(type=type_, source=source, subject=subject or (key.decode() if key else ""), data=data, id=id_,
                   time=_parse_time(time) if time else clock.now(), request_id=logs.well_formed(request_id))


def event_source(source: str):
    """The event builder of one source: `build(type, subject, data, actor_id)`. Every payload names who caused
    the change (`actor_id`); the subject is the aggregate's id (the Kafka key)."""
    def build(type_: str, subject, data: dict, actor_id: str) -> DomainEvent:
        return DomainEvent(type=type_, source=source, subject=str(subject), data={**data, "actor_id": actor_id})
    return build


_READ_HEADERS = ("ce_id", "ce_source", "ce_type", "ce_specversion", "ce_subject", "ce_time",
                 "ce_" + REQUEST_ID_ATTRIBUTE)


def _text(raw) -> str | None:
    return None if raw is None else raw.decode() if isinstance(raw, bytes) else str(raw)


def _parse_time(text: str) -> datetime:
    """An RFC 3339 time (as `ce_time` carries it) to an aware datetime; ValueError if it is not one."""
    parsed = datetime.fromisoformat(text)  # Python 3.11 reads the Z suffix and any fraction of a second
    if parsed.tzinfo is None:
        raise ValueError(f"ce_time {text!r} has no UTC offset")
    return parsed
