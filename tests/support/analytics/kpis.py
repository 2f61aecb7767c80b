"""Asking the KPI endpoints, and their answers in one order on both sides of a comparison."""
from __future__ import annotations

from datetime import datetime, timezone

NOW = datetime(2026, 3, 20, 12, 0, tzinfo=timezone.utc)  # when the KPIs are asked (a Friday)


def kpi(caller, path: str, **params) -> dict:
    """GET /api/v1/kpi/<path> with the query parameters; asserts a 200."""
    query = {key: str(value) for key, value in params.items() if value is not None}
    response = caller.get(f"/api/v1/kpi/{path}", query_string=query)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def by(key: str, items: list[dict]) -> list[dict]:
    return sorted(items, key=lambda item: (item[key] is None, str(item[key])))


def canonical(path: str, answer: dict) -> dict:
    """Lists in one order on both sides (the service's own order is tested elsewhere); no `as_of`."""
    answer = dict(answer)
    answer.pop("as_of", None)
    if path == "managers":
        answer["items"] = [{**item, "open_by_stage": by("stage_id", item["open_by_stage"])}
                           for item in by("manager_id", answer["items"])]
    elif path in ("campaigns", "lost-reasons"):
        answer["items"] = by("campaign_id" if path == "campaigns" else "reason_id", answer["items"])
    elif path == "campaigns/by-channel":
        answer["items"] = by("channel", answer["items"])
    elif path == "deal-cycle":
        answer["stages"] = by("stage_id", answer["stages"])
    elif path == "payments":
        answer["by_manager"] = by("manager_id", answer["by_manager"])
    elif path == "products":
        answer["items"] = by("product_id", answer["items"])
        answer["lost"] = [{**item, "reasons": by("reason_id", item["reasons"])}
                          for item in by("product_id", answer["lost"])]
    return answer
