"""Lists: keyset pagination with a capped page size, sorting by a named column, and the list envelope."""
from __future__ import annotations

import base64
import json
import uuid
from datetime import date, datetime

from flask_smorest import abort
from marshmallow import Schema, fields, validate
from sqlalchemy import Select, select, tuple_, union_all
from sqlalchemy.orm import Session, aliased

from glassbox.db import count_capped
from glassbox.dumping import FastDumpSchema
from glassbox.events import to_jsonable


class PageArgs(Schema):
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    cursor = fields.String(load_default=None, validate=validate.Length(max=1000))


def page_schema(item_schema: type[Schema], name: str, **extra: fields.Field) -> type[Schema]:
    """The list envelope: {"items", "next_cursor", "total", "total_is_estimate"} and the `extra` fields of a list that
    tells more (e.g. the currency of its money), dumped through compiled functions (a board reads 500 deals in a few
    pages: marshmallow's own dump was a third of each page's time)."""
    return FastDumpSchema.from_dict(
        {
            "items": fields.List(fields.Nested(item_schema), required=True),
            "next_cursor": fields.String(allow_none=True, required=True),
            "total": fields.Integer(required=True),
            "total_is_estimate": fields.Boolean(required=True),
            **extra,
        },
        name=name,
    )


def _encode_cursor(values: list) -> str:
    return base64.urlsafe_b64encode(json.dumps(to_jsonable(values)).encode()).decode().rstrip("=")


def _decode_cursor(cursor: str, columns) -> list:
    try:
        raw = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(raw, list) or len(raw) != len(columns):
            raise ValueError("wrong length")
        values = []
        for column, value in zip(columns, raw):
            python_type = column.type.python_type
            if python_type in (datetime, date):
                values.append(python_type.fromisoformat(value))
            elif python_type is uuid.UUID:
                values.append(uuid.UUID(value))
            else:
                values.append(python_type(value))
        return values
    except (ValueError, TypeError, NotImplementedError) as exc:
        abort(400, message="the cursor is not valid; start again without it", errors={"cursor": [str(exc)]})


def keyset_page(session: Session, stmt: Select, sort_column, id_column, descending: bool,
                limit: int, cursor: str | None, ids_first: bool = False) -> dict:
    """One page of `stmt` ordered by (sort_column, id) with a cursor after the last row, plus the total.

    Keyset pagination stays as fast on page 10,000 as on page 1, unlike OFFSET.
    `ids_first`: find the page's ids first, with a statement of the ids alone that an index carrying the filter's
    columns answers without reading the table, then read those rows. For a filter that most rows in sort order
    fail, where reading each row only to test it is what costs.
    """
    total, is_estimate = count_capped(session, stmt)
    if ids_first:
        ids = session.scalars(_keyset(stmt.with_only_columns(id_column, maintain_column_froms=True), sort_column,
                                      id_column, descending, limit, cursor)).all()
        stmt, cursor = stmt.where(id_column.in_(ids)), None
    rows = session.scalars(_keyset(stmt, sort_column, id_column, descending, limit, cursor)).all()
    return _page(rows, sort_column, id_column, limit, total, is_estimate)


def keyset_page_of_union(session: Session, branches: list[Select], entity, sort_column, id_column,
                         descending: bool, limit: int, cursor: str | None) -> dict:
    """keyset_page over the UNION ALL of `branches` (each `select(entity)...`, sort_column and id_column being
    the entity's). Each branch takes its own page first, from its own index, and the union only merges those:
    PostgreSQL does not merge the branches' ordered index scans itself, so ordering the whole union would
    read every row of every branch for one page."""
    total, is_estimate = count_capped(session, union_all(*branches))
    pages = [_keyset(branch, sort_column, id_column, descending, limit, cursor) for branch in branches]
    merged = aliased(entity, union_all(*pages).subquery("branch_pages"))
    sort_key, id_key = getattr(merged, sort_column.key), getattr(merged, id_column.key)
    order = (sort_key.desc(), id_key.desc()) if descending else (sort_key.asc(), id_key.asc())
    rows = session.scalars(select(merged).order_by(*order).limit(limit + 1)).all()
    return _page(rows, sort_column, id_column, limit, total, is_estimate)


def _keyset(stmt: Select, sort_column, id_column, descending: bool, limit: int, cursor: str | None) -> Select:
    """`stmt` after the cursor, in (sort_column, id) order, one row more than a page (to know if one follows)."""
    if cursor:
        after = tuple_(*_decode_cursor(cursor, [sort_column, id_column]))
        key = tuple_(sort_column, id_column)
        stmt = stmt.where(key < after if descending else key > after)
    order = (sort_column.desc(), id_column.desc()) if descending else (sort_column.asc(), id_column.asc())
    return stmt.order_by(*order).limit(limit + 1)


def _page(rows: list, sort_column, id_column, limit: int, total: int, is_estimate: bool) -> dict:
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        next_cursor = _encode_cursor([getattr(last, sort_column.key), getattr(last, id_column.key)])
    return {"items": rows, "next_cursor": next_cursor, "total": total, "total_is_estimate": is_estimate}


def sort_order(sort: str) -> tuple[str, bool]:
    """("name", descending) of a sort argument: "name" ascending, "-name" descending."""
    return sort.lstrip("-"), sort.startswith("-")


def sorted_page(session: Session, stmt: Select, model, args: dict, columns: dict | None = None,
                **keyset_options) -> dict:
    """A keyset page of `stmt` ordered by args["sort"] (see `sort_order`), ties broken by `model.id`; `columns`
    maps a sort name to a column other than the model's attribute of that name."""
    name, descending = sort_order(args["sort"])
    column = columns[name] if columns and name in columns else getattr(model, name)
    return keyset_page(session, stmt, column, model.id, descending=descending, limit=args["limit"],
                       cursor=args.get("cursor"), **keyset_options)
