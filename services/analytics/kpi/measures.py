"""Aggregation with money in the base currency, done by the database.

A KPI query names its group keys and its measures (counts, plain sums, money sums, each with a condition) over
one row source (deals, campaigns). The database then, in one statement:
1. groups the rows by the keys, the currency and the rate day (the day whose exchange rate converts the row);
2. finds for each (currency, day) the latest rate valid on that day, once however many keys have it (none
   needed for the base currency);
3. multiplies the sums of each group by its rate (exact numeric arithmetic: amount x rate is not rounded);
4. sums per key, and lists per key what could not be converted: per currency, the amount and the number of
   rows, so that an amount without a rate is reported and never silently left out or added as if converted.

Converting after grouping gives exactly the sum of the converted amounts (multiplication distributes over the
sum), and converts a few (currency, day) groups instead of every row. Totals are rounded to cents at the end."""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import Numeric, String, and_, case, cast, func, literal, literal_column, select, true
from sqlalchemy.orm import Session

from services.analytics.models import FxRate

CENT = Decimal("0.01")


def cents(value) -> Decimal:
    return Decimal(value or 0).quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass
class Measures:
    counts: dict = field(default_factory=dict)  # name -> condition
    sums: dict = field(default_factory=dict)  # name -> (numeric expression, condition)
    money: dict = field(default_factory=dict)  # name -> (amount expression in the row's currency, condition)


def aggregate(session: Session, source, keys: dict, currency, rate_day, measures: Measures, where: list,
              base_currency: str, unit: str = "deals", weight=None) -> list[dict]:
    """One dict per key combination: the keys, each count (int), each sum (Decimal or None) and each money
    measure as {"amount": Decimal (cents), "currency": base, "unconverted": [{"currency", "amount", unit}]}.

    `weight`: how many items each source row stands for (default 1): a row of totals counts its items, a row
    taken away from a total -1 (its money expressions then carry the sign too)."""
    key_names = list(keys)
    # 0. the row source, each expression computed once per row (PostgreSQL cannot match a GROUP BY
    #    expression holding a bind parameter with the same expression in the select list, so group by columns)
    columns = [expression.label(name) for name, expression in keys.items()]
    columns += [currency.label("_currency"), rate_day.label("_day")]
    if weight is not None:
        columns.append(weight.label("_weight"))
    columns += [condition.label(f"c_{name}") for name, condition in measures.counts.items()]
    for prefix, named in (("s", measures.sums), ("m", measures.money)):
        for name, (expression, condition) in named.items():
            columns += [expression.label(f"{prefix}_{name}"), condition.label(f"{prefix}c_{name}")]
    src = select(*columns).select_from(source).where(*where).subquery("source").c
    count = func.count if weight is None else (lambda: func.sum(src._weight))

    # 1. per key, currency and rate day
    columns = [src[name] for name in key_names] + [src._currency, src._day]
    columns += [count().filter(src[f"c_{name}"]).label(name) for name in measures.counts]
    columns += [func.sum(src[f"s_{name}"]).filter(src[f"sc_{name}"]).label(name) for name in measures.sums]
    for name in measures.money:
        columns += [func.sum(src[f"m_{name}"]).filter(src[f"mc_{name}"]).label(name),
                    count().filter(src[f"mc_{name}"]).label(f"{name}__n")]
    grouped = select(*columns).group_by(*[src[name] for name in key_names], src._currency, src._day).cte("grouped")

    # 2. the rate of each (currency, day) once, whatever the keys: the latest valid on that day (none looked up
    #    for the base currency)
    days = (select(grouped.c._currency, grouped.c._day).where(grouped.c._currency != base_currency).distinct()
            .subquery("days"))
    fx = (select(FxRate.rate_to_base)
          .where(FxRate.currency == days.c._currency, FxRate.valid_from <= days.c._day)
          .order_by(FxRate.valid_from.desc()).limit(1).lateral("fx"))
    rates = (select(days.c._currency, days.c._day, fx.c.rate_to_base)
             .select_from(days.outerjoin(fx, true())).subquery("rates"))
    rate = case((grouped.c._currency == base_currency, literal(Decimal(1), Numeric)), else_=rates.c.rate_to_base)
    columns = [grouped.c[name] for name in key_names] + [grouped.c._currency, rate.is_(None).label("_missing")]
    columns += [grouped.c[name] for name in (*measures.counts, *measures.sums)]
    for name in measures.money:
        columns += [(grouped.c[name] * rate).label(name), grouped.c[name].label(f"{name}__raw"),
                    grouped.c[f"{name}__n"]]
    rated = (select(*columns)
             .select_from(grouped.outerjoin(rates, and_(rates.c._currency == grouped.c._currency,
                                                        rates.c._day == grouped.c._day)))
             .subquery("rated"))

    # 3. per key and currency: converted sums, and what had no rate
    columns = [rated.c[name] for name in key_names] + [rated.c._currency]
    columns += [func.sum(rated.c[name]).label(name) for name in (*measures.counts, *measures.sums)]
    for name in measures.money:
        columns += [func.sum(rated.c[name]).label(name),
                    func.sum(rated.c[f"{name}__raw"]).filter(rated.c._missing).label(f"{name}__ua"),
                    func.sum(rated.c[f"{name}__n"]).filter(rated.c._missing).label(f"{name}__un")]
    per_currency = (select(*columns).group_by(*[rated.c[name] for name in key_names], rated.c._currency)
                    .subquery("per_currency"))

    # 4. per key
    by_currency = per_currency.c
    columns = [by_currency[name] for name in key_names]
    columns += [func.sum(by_currency[name]).label(name) for name in (*measures.counts, *measures.sums)]
    for name in measures.money:
        columns += [func.sum(by_currency[name]).label(name),
                    func.jsonb_agg(func.jsonb_build_object(
                        _key("currency"), by_currency._currency, _key("amount"),
                        cast(by_currency[f"{name}__ua"], String), _key(unit), by_currency[f"{name}__un"]))
                    .filter(by_currency[f"{name}__un"] > 0).label(f"{name}__unconverted")]
    final = select(*columns).group_by(*[by_currency[name] for name in key_names])

    rows = []
    for row in session.execute(final).mappings():
        out = {name: row[name] for name in key_names}
        out.update({name: int(row[name] or 0) for name in measures.counts})
        out.update({name: row[name] for name in measures.sums})
        for name in measures.money:
            out[name] = money(row[name], base_currency, row[f"{name}__unconverted"], unit)
        rows.append(out)
    if not key_names and not rows:  # cannot happen (no GROUP BY always gives a row), but stay total
        rows.append(empty_row(measures, base_currency, unit))
    return rows


def _key(name: str):
    """A constant JSON key (our own names only, never input)."""
    return literal_column(f"'{name}'")


def money(amount, base_currency: str, unconverted=None, unit: str = "deals") -> dict:
    if not unconverted:  # nearly always: every amount had a rate
        return {"amount": cents(amount), "currency": base_currency, "unconverted": []}
    items = sorted(({"currency": item["currency"], "amount": cents(Decimal(item["amount"])), unit: int(item[unit])}
                    for item in unconverted or []), key=lambda item: item["currency"])
    return {"amount": cents(amount), "currency": base_currency, "unconverted": items}


def empty_row(measures: Measures, base_currency: str, unit: str = "deals") -> dict:
    row = dict.fromkeys(measures.counts, 0)
    row.update(dict.fromkeys(measures.sums))
    row.update({name: money(None, base_currency, None, unit) for name in measures.money})
    return row


def add_money(*values: dict) -> dict:
    """The sum of money figures already aggregated (e.g. a channel = its campaigns); unconverted parts are
    merged per currency."""
    base = values[0]["currency"] if values else None
    unit = None
    unconverted: dict[str, dict] = {}
    for value in values:
        for item in value["unconverted"]:
            unit = unit or next(name for name in item if name not in ("currency", "amount"))
            merged = unconverted.setdefault(item["currency"], {"currency": item["currency"], "amount": Decimal(0),
                                                                unit: 0})
            merged["amount"] += item["amount"]
            merged[unit] += item[unit]
    return {"amount": cents(sum((value["amount"] for value in values), Decimal(0))), "currency": base,
            "unconverted": sorted(unconverted.values(), key=lambda item: item["currency"])}
