"""The event contracts (contracts/events/*.schema.json) as validators."""
from __future__ import annotations

import json
from functools import lru_cache

from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from glassbox.config import PROJECT_ROOT

EVENTS_DIR = PROJECT_ROOT / "contracts" / "events"
BASE_URI = "https://glassbox.example/contracts/events/"


@lru_cache(maxsize=1)
def registry() -> Registry:
    resources = []
    for path in sorted(EVENTS_DIR.glob("*.schema.json")):
        contents = json.loads(path.read_text(encoding="utf-8"))
        resources.append((contents["$id"], Resource.from_contents(contents)))
    return Registry().with_resources(resources)


def validator(event_type: str) -> Draft202012Validator:
    """A validator of the payload of `event_type` against its schema (references resolved, formats checked)."""
    schema = registry().contents(f"{BASE_URI}{event_type}.schema.json")
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, registry=registry(), format_checker=Draft202012Validator.FORMAT_CHECKER)
