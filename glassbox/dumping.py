"""A faster `Schema.dump` for large answers (a KPI table of 200 managers is ~20,000 fields): the schema is walked
once into generated Python functions (one dict expression per schema, the common leaf conversions inline), so a
dump costs little more than building the answer's dicts. The output is the same as marshmallow's
(tests/kit/test_dumping.py compares them). FastJSONProvider (below) encodes an answer with orjson.

Use: `class ReportSchema(FastDumpSchema)`; its nested schemas need nothing. A schema with dump hooks, or a field
kind not known here (Method, Function, Pluck, custom fields overriding `serialize`), is dumped by marshmallow
itself, so nothing is ever dumped differently, only some parts faster."""
from __future__ import annotations

import decimal
import uuid
from typing import Any, Callable

import orjson
from flask import Response
from flask.json.provider import DefaultJSONProvider
from marshmallow import Schema, fields, missing

Dump = Callable[[Any], Any]
_MISSING = object()
MAX_SHAPES = 32  # generated functions per schema for dicts missing some attributes; more: the plain path
UUID_TEXTS = 100_000  # remembered texts of UUIDs; beyond, forgotten all at once

# The text of each UUID a dump has met, by its number: uuid.UUID.__str__ is Python code (~0.6 us), and a large
# answer names the same few stages, pipelines and people thousands of times.
_uuid_texts: dict[int, str] = {}


def uuid_text(value: Any) -> str:
    """str(value), remembered for a uuid.UUID."""
    if type(value) is not uuid.UUID:
        return str(value)
    number = value.int
    text = _uuid_texts.get(number)
    if text is None:
        if len(_uuid_texts) >= UUID_TEXTS:
            _uuid_texts.clear()
        text = _uuid_texts[number] = str(value)
    return text


def _field_dump(field: fields.Field, compiling: frozenset) -> Dump | None:
    """A function dumping one value of `field`, or None when only marshmallow may dump it."""
    if type(field).serialize is not fields.Field.serialize or field.dump_default is not missing:
        return None
    kind = type(field)
    if kind is fields.Nested:
        nested = field.nested
        if not isinstance(nested, type) or not issubclass(nested, Schema) or field.only or field.exclude:
            return None
        inner = _schema_dump(nested(), compiling)
        if inner is None:
            return None
        if field.many:
            return lambda value: None if value is None else [inner(item) for item in value]
        return lambda value: None if value is None else inner(value)
    if kind is fields.List:
        inner = _field_dump(field.inner, compiling)
        return None if inner is None else (lambda value: None if value is None else [inner(item) for item in value])
    if kind in (fields.Dict, fields.Mapping):
        keys = _field_dump(field.key_field, compiling) if field.key_field else (lambda key: key)
        values = _field_dump(field.value_field, compiling) if field.value_field else (lambda value: value)
        if keys is None or values is None:
            return None
        return lambda value: None if value is None else {keys(k): values(v) for k, v in value.items()}
    if isinstance(field, (fields.Nested, fields.List, fields.Mapping, fields.Tuple, fields.Method, fields.Function)):
        return None  # their subclasses (Pluck, ...) and kinds that read the object: marshmallow's own
    if kind._serialize is fields.Field._serialize:  # Raw and kinds with no conversion of their own
        return lambda value: value
    serialize = field._serialize
    plain = lambda value: None if value is None else serialize(value, None, None)  # noqa: E731
    # a value of a list or a dict (a dict's keys too): the conversion _expression writes inline, as a function
    namespace = {"Decimal": decimal.Decimal, "uuid_text": uuid_text, "leaf": plain}
    source = _expression(field, "leaf", "value", namespace)
    if source == "leaf(value)":
        return plain
    return eval(compile(f"lambda value: {source}", "<compiled dump>", "eval"), namespace)  # our own source only


def _expression(field: fields.Field, name: str, value: str, namespace: dict) -> str:
    """Python source converting `value` (an expression read once) of `field` as the function `name` does, with the
    common cases inline, marshmallow's own steps without its calls: a str for a String, an int for an Integer, a
    float for a Float as they are (any other number converted by int() or float(), as marshmallow does), a UUID as
    its text (remembered: uuid_text), a finite Decimal quantized and formatted; a nested schema
    calls its own generated function (`name`_inner). Anything else: the function."""
    kind = type(field)
    if kind is fields.Nested or (kind is fields.List and type(field.inner) is fields.Nested
                                 and namespace.get(f"{name}_inner") is not None):
        many = kind is fields.List or field.many
        each = f"[None if i is None else {name}_inner(i) for i in v]" if many else f"{name}_inner(v)"
        return f"(None if (v := {value}) is None else {each})"
    if kind in (fields.List, fields.Dict, fields.Mapping):
        return f"{name}({value})"
    if kind._serialize is fields.Field._serialize:
        return value
    if issubclass(kind, fields.String) and kind._serialize is fields.String._serialize:
        return f"(v if type(v := {value}) is str else {name}(v))"
    if kind is fields.UUID:
        return f"(None if (v := {value}) is None else uuid_text(v))"
    if kind in (fields.Integer, fields.Float) and not field.as_string:
        # marshmallow's own step for any other value: None stays None, else int(v) / float(v)
        number = "int" if kind is fields.Integer else "float"
        return f"(v if type(v := {value}) is {number} else None if v is None else {number}(v))"
    if kind is fields.Decimal and field.as_string and field.places is not None:
        namespace[f"{name}_places"], namespace[f"{name}_rounding"] = field.places, field.rounding
        return (f"(format(v.quantize({name}_places, rounding={name}_rounding), 'f') "
                f"if type(v := {value}) is Decimal and v.is_finite() else {name}(v))")
    return f"{name}({value})"


def _generated(plan: list, fallback: Dump) -> Dump:
    """A function building the answer of a dict in one expression per set of attributes the dicts have (an answer
    leaves some out, e.g. `series` without an interval; a few such shapes); a field not required is in the expression
    only when its attribute is there. Any other object goes to `fallback`."""
    namespace: dict = {"Decimal": decimal.Decimal, "uuid_text": uuid_text}
    entries = []  # (attribute, source of its entry): two fields may read one attribute
    for index, (attribute, key, dump, field, inner) in enumerate(plan):
        name = f"d{index}"
        namespace[name], namespace[f"{name}_inner"] = dump, inner
        entry = f"{key!r}: {_expression(field, name, f'obj[{attribute!r}]', namespace)}"
        if not field.required:  # often left out (`details` without details=true): in place, when there
            entry = f"**({{{entry}}} if {attribute!r} in obj else {{}})"
        entries.append((attribute, entry))
    every_entry = tuple(range(len(entries)))
    shapes: dict[tuple, Dump] = {}

    def shape_of(present: tuple) -> Dump:
        source = f"def dump(obj):\n    return {{{', '.join(entries[index][1] for index in present)}}}\n"
        scope = dict(namespace)
        exec(compile(source, "<compiled dump>", "exec"), scope)  # the names of our own schemas only, never input
        return scope["dump"]

    every = shape_of(every_entry)

    def dump(obj: Any) -> dict:
        if type(obj) is not dict:
            return fallback(obj)
        try:
            return every(obj)
        except KeyError:
            present = tuple(index for index, (attribute, _) in enumerate(entries) if attribute in obj)
            if len(present) == len(entries):
                raise  # not a missing attribute: a conversion's own error
        if present not in shapes:
            if len(shapes) >= MAX_SHAPES:
                return fallback(obj)
            shapes[present] = shape_of(present)
        return shapes[present](obj)
    return dump


def _schema_dump(schema: Schema, compiling: frozenset = frozenset()) -> Dump | None:
    cls = type(schema)
    if cls in compiling or any(schema._hooks.get(hook) for hook in ("pre_dump", "post_dump")) \
            or schema.only or schema.exclude:
        return None  # a schema nesting itself, or one with hooks: marshmallow's own
    plan = []
    for name, field in schema.dump_fields.items():
        attribute = field.attribute or name
        dump = None if "." in attribute else _field_dump(field, compiling | {cls})
        if dump is None:
            return None
        nested = field.inner if type(field) is fields.List else field
        inner = _schema_dump(nested.nested(), compiling | {cls}) if type(nested) is fields.Nested else None
        plan.append((attribute, field.data_key or name, dump, field, inner))

    def dump_one(obj: Any) -> dict:
        get = obj.get if isinstance(obj, dict) else (lambda name, default: getattr(obj, name, default))
        out = {}
        for attribute, key, dump, _, _ in plan:
            value = get(attribute, _MISSING)
            if value is not _MISSING:
                out[key] = dump(value)
        return out
    return _generated(plan, dump_one)


class FastDumpSchema(Schema):
    """A schema whose dump of one object runs through the compiled functions (built on first use, per class)."""

    _compiled: Dump | None = None

    def dump(self, obj: Any, *, many: bool | None = None):
        many = self.many if many is None else many
        cls = type(self)
        if "_compiled" not in cls.__dict__:
            cls._compiled = _schema_dump(cls())
        if cls._compiled is None or self.only or self.exclude:
            return super().dump(obj, many=many)
        return [cls._compiled(item) for item in obj] if many else cls._compiled(obj)


class FastJSONProvider(DefaultJSONProvider):
    """Flask's JSON answers encoded by orjson (several times faster than the json module on a 400 KB KPI table):
    the same JSON values as the default provider (keys sorted, compact, Flask's conversions of dates, Decimals,
    UUIDs and dataclasses). Spelt differently, the same values: text beyond ASCII as UTF-8 rather than escaped, a
    float of exponent form as orjson writes it (5e-05 as 0.00005), NaN as null. What orjson cannot encode (keys
    that are not strings, integers beyond 64 bits, a type Flask does not know) goes to the default provider, which
    answers or fails as before. Debug (indented) answers are the default provider's.

    Use: `app.json = FastJSONProvider(app)`."""

    OPTIONS = orjson.OPT_SORT_KEYS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS \
        | orjson.OPT_APPEND_NEWLINE

    def response(self, *args: Any, **kwargs: Any) -> Response:
        if (self.compact is None and self._app.debug) or self.compact is False:
            return super().response(*args, **kwargs)
        try:
            body = orjson.dumps(self._prepare_response_obj(args, kwargs), default=self.default, option=self.OPTIONS)
        except orjson.JSONEncodeError:
            return super().response(*args, **kwargs)
        return self._app.response_class(body, mimetype=self.mimetype)
