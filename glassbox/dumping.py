"""A faster `Schema.dump` for large answers (a KPI table of 200 managers is ~20,000 fields): the schema is walked
once into plain functions, so a dump costs each leaf field's own `_serialize` and nothing of marshmallow's
per-field machinery. The output is the same as marshmallow's (tests/kit/test_dumping.py compares them).

Use: `class ReportSchema(FastDumpSchema)`; its nested schemas need nothing. A schema with dump hooks, or a field
kind not known here (Method, Function, Pluck, custom fields overriding `serialize`), is dumped by marshmallow
itself, so nothing is ever dumped differently, only some parts faster."""
from __future__ import annotations

from typing import Any, Callable

from marshmallow import Schema, fields, missing

Dump = Callable[[Any], Any]
_MISSING = object()


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
    return lambda value: None if value is None else serialize(value, None, None)


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
        plan.append((attribute, field.data_key or name, dump))

    def dump_one(obj: Any) -> dict:
        get = obj.get if isinstance(obj, dict) else (lambda name, default: getattr(obj, name, default))
        out = {}
        for attribute, key, dump in plan:
            value = get(attribute, _MISSING)
            if value is not _MISSING:
                out[key] = dump(value)
        return out
    return dump_one


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
