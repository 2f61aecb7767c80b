"""The compiled dump gives exactly marshmallow's output, and leaves what it does not know to marshmallow."""
from __future__ import annotations

import uuid
from datetime import date, datetime, timezone
from decimal import Decimal

import json
from dataclasses import dataclass

import pytest
from flask import Flask
from flask.json.provider import DefaultJSONProvider
from marshmallow import Schema, fields, post_dump

from glassbox import dumping
from glassbox.dumping import FastDumpSchema, FastJSONProvider, uuid_text


class Money(Schema):
    amount = fields.Decimal(as_string=True, places=2, required=True)
    currency = fields.String(required=True)


class Line(Schema):
    line_id = fields.UUID(required=True)
    share = fields.Float(allow_none=True)
    count = fields.Integer()
    on = fields.Date()
    at = fields.DateTime()
    active = fields.Boolean()
    total = fields.Nested(Money)


class Report(FastDumpSchema):
    title = fields.String(data_key="name")
    owner = fields.UUID(attribute="owner_id", allow_none=True)
    lines = fields.List(fields.Nested(Line))
    first = fields.Nested(Line, allow_none=True)
    many = fields.Nested(Line, many=True)
    per_type = fields.Dict(keys=fields.String(), values=fields.Integer())
    raw = fields.Raw()
    amount = fields.Decimal(as_string=True, places=2, allow_none=True)


def _line(n: int, **over) -> dict:
    line = {"line_id": uuid.UUID(int=n), "share": Decimal("0.3333") if n % 2 else 1, "count": Decimal(n),
            "on": date(2027, 4, n % 28 + 1), "at": datetime(2027, 4, 1, 12, n % 60, tzinfo=timezone.utc),
            "active": bool(n % 2), "total": {"amount": Decimal(n) / 3, "currency": "RUB"}}
    line.update(over)
    return line


ANSWER = {
    "title": "April", "owner_id": uuid.UUID(int=7), "lines": [_line(1), _line(2, share=None), _line(3, total=None)],
    "first": None, "many": [_line(4)], "per_type": {"call": 3, "meeting": Decimal(2)}, "raw": {"x": [1, 2]},
    "amount": Decimal("1234.567"), "not_in_schema": 1,
}


def test_the_compiled_dump_equals_marshmallows_for_every_kind_of_field():
    compiled = Report().dump(ANSWER)
    assert Report._compiled is not None  # the compiled path ran, not a fallback
    assert compiled == Schema.dump(Report(), ANSWER)
    assert compiled["name"] == "April" and compiled["owner"] == str(uuid.UUID(int=7))
    assert compiled["amount"] == "1234.57" and compiled["lines"][0]["total"]["amount"] == "0.33"


def test_missing_keys_are_left_out_as_marshmallow_does():
    answer = {"title": "only a title", "lines": [{"line_id": uuid.UUID(int=1)}]}
    assert Report().dump(answer) == Schema.dump(Report(), answer) == {
        "name": "only a title", "lines": [{"line_id": str(uuid.UUID(int=1))}]}


def test_a_field_not_required_and_left_out_keeps_the_others_in_marshmallows_order():
    class Row(FastDumpSchema):
        first = fields.String(required=True)
        optional = fields.Nested(Money)
        last = fields.Integer(required=True)

    rows = [{"first": "a", "last": 1}, {"first": "b", "optional": {"amount": Decimal("1.25"), "currency": "RUB"},
                                        "last": 2}, {"first": "c"}]  # the last one lacks a required field too
    for row in rows:
        compiled = Row().dump(row)
        assert list(compiled.items()) == list(Schema.dump(Row(), row).items())
    assert Row._compiled is not None and Row().dump(rows[1])["optional"] == {"amount": "1.25", "currency": "RUB"}


def test_many_dumps_each_object():
    assert Report(many=True).dump([ANSWER, ANSWER]) == Schema.dump(Report(many=True), [ANSWER, ANSWER])


def test_a_schema_with_hooks_or_computed_fields_is_dumped_by_marshmallow():
    class Hooked(FastDumpSchema):
        name = fields.String()

        @post_dump
        def shout(self, data, **kwargs):
            return {"name": data["name"].upper()}

    class Computed(FastDumpSchema):
        name = fields.String()
        size = fields.Method("size_of")

        def size_of(self, obj):
            return len(obj["name"])

    assert Hooked().dump({"name": "a"}) == {"name": "A"} and Hooked._compiled is None
    assert Computed().dump({"name": "abc"}) == {"name": "abc", "size": 3} and Computed._compiled is None


def test_only_and_exclude_go_to_marshmallow():
    assert Report(only=("title",)).dump(ANSWER) == {"name": "April"}
    assert "name" not in Report(exclude=("title",)).dump(ANSWER)


def test_values_of_another_type_convert_as_marshmallow_converts_them():
    class Loose(FastDumpSchema):
        text = fields.String()
        whole = fields.Integer()
        ratio = fields.Float(allow_none=True)
        price = fields.Decimal(as_string=True, places=2)
        ident = fields.UUID()
        lines = fields.List(fields.Nested(Line))

    for answer in ({"text": 5, "whole": Decimal("7"), "ratio": 1, "price": 3, "ident": "not a uuid object",
                    "lines": [None, _line(5), {"line_id": uuid.UUID(int=9)}]},
                   {"text": "a", "whole": True, "ratio": Decimal("0.25"), "price": Decimal("2.345"),
                    "ident": uuid.UUID(int=3), "lines": None},
                   {"text": None, "whole": None, "ratio": None, "price": None, "ident": None, "lines": []},
                   {"price": Decimal("-0.005"), "lines": [_line(6, total={"currency": "USD"})]}):
        assert Loose().dump(answer) == Schema.dump(Loose(), answer)
    assert Loose._compiled is not None


@dataclass
class _Point:
    x: int
    label: str


def _bodies(answer) -> tuple[bytes, bytes]:
    """The same answer through the default provider and the fast one."""
    app = Flask(__name__)
    with app.app_context():
        slow = DefaultJSONProvider(app).response(answer).get_data()
        fast = FastJSONProvider(app).response(answer).get_data()
    return slow, fast


def test_an_answer_of_ascii_text_numbers_and_flask_types_is_the_same_bytes():
    answer = {"zeta": [1, 2.5, None, True, False], "alpha": {"b": "x\"y\\z\n\t", "a": -3},
              "uuid": uuid.UUID(int=42), "amount": Decimal("12.30"), "day": date(2027, 4, 1),
              "at": datetime(2027, 4, 1, 12, 30, tzinfo=timezone.utc), "point": _Point(1, "p"),
              "dumped": Report().dump(ANSWER), "ratio": 0.3333333333333333, "big": 2 ** 62}
    slow, fast = _bodies(answer)
    assert fast == slow


def test_other_spellings_are_the_same_values():
    answer = {"name": "Иван Петров \u2028 \x7f", "small": 5e-05, "tiny": 1e-07, "large": 1e16}
    slow, fast = _bodies(answer)
    assert json.loads(fast) == json.loads(slow) == answer
    assert fast.endswith(b"\n")


@pytest.mark.parametrize("answer", [{1: "not a text key"}, {"huge": 2 ** 70}])
def test_what_orjson_cannot_encode_goes_to_the_default_provider(answer):
    slow, fast = _bodies(answer)
    assert fast == slow


def test_a_value_flask_cannot_encode_fails_as_before():
    app = Flask(__name__)
    with app.app_context(), pytest.raises(TypeError):
        FastJSONProvider(app).response({"object": object()})


def test_two_fields_reading_one_attribute_are_both_dumped():
    class Twice(FastDumpSchema):
        owner = fields.UUID(attribute="owner_id", dump_only=True)
        owner_text = fields.String(attribute="owner_id", dump_only=True)
        title = fields.String()

    for answer in ({"owner_id": uuid.UUID(int=5), "title": "t"}, {"owner_id": uuid.UUID(int=5)}):
        assert Twice().dump(answer) == Schema.dump(Twice(), answer)
    assert Twice._compiled is not None


def test_list_and_dict_values_convert_as_marshmallow_converts_them():
    class Leaves(FastDumpSchema):
        ids = fields.List(fields.UUID())
        prices = fields.List(fields.Decimal(as_string=True, places=2))
        by_name = fields.Dict(keys=fields.String(), values=fields.Float(allow_none=True))
        by_id = fields.Dict(keys=fields.UUID(), values=fields.Integer())

    answer = {"ids": [uuid.UUID(int=1), None, "text"], "prices": [Decimal("1.005"), 2, None],
              "by_name": {"a": 1, "b": None, "c": Decimal("0.5")}, "by_id": {uuid.UUID(int=2): Decimal("3")}}
    assert Leaves().dump(answer) == Schema.dump(Leaves(), answer)
    assert Leaves().dump(answer)["ids"] == [str(uuid.UUID(int=1)), None, "text"]


def test_uuid_texts_are_remembered_up_to_a_bound(monkeypatch):
    monkeypatch.setattr(dumping, "UUID_TEXTS", 3)
    monkeypatch.setattr(dumping, "_uuid_texts", {})
    ids = [uuid.UUID(int=n) for n in range(5)]
    assert [uuid_text(value) for value in ids + ids] == [str(value) for value in ids + ids]
    assert len(dumping._uuid_texts) <= 3
    assert uuid_text("not a uuid") == "not a uuid" and uuid_text(5) == "5"
