"""The operations of the committed OpenAPI documents, and minimal request bodies built from their schemas (every
required field with a plausible value), so that a call reaches the access check instead of stopping at the
body's validation."""
from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass

from glassbox import registry
from glassbox.config import PROJECT_ROOT

OPENAPI_DIR = PROJECT_ROOT / "contracts" / "openapi"
METHODS = ("get", "post", "put", "patch", "delete")
# Every registered service but the one that issues tokens (the gateway, whose document is the merged one).
SERVICES = tuple(name for name, spec in registry.specs().items() if not spec.issues_tokens)


def document(name: str) -> dict:
    return json.loads((OPENAPI_DIR / f"{name}.json").read_text())


@dataclass(frozen=True)
class Operation:
    method: str  # upper case
    path: str  # as the document writes it, with {param} placeholders
    service: str  # the service answering it ("gateway" for the gateway's own)
    spec: dict  # the operation object
    components: dict
    path_item: dict

    @property
    def key(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def path_params(self) -> list[str]:
        return re.findall(r"{(\w+)}", self.path)

    def parameters(self, where: str) -> list[dict]:
        return [p for p in self.spec.get("parameters", []) + self.path_item.get("parameters", []) if p["in"] == where]

    def unknown_value(self, name: str) -> object:
        """A value of the path parameter `name` that names no record."""
        schema = next((p["schema"] for p in self.parameters("path") if p["name"] == name), {})
        if schema.get("type") == "integer":
            return 987654321
        return str(uuid.uuid4()) if schema.get("format") == "uuid" else f"no-such-{name}"

    def required_query(self, hints: dict) -> dict:
        return {p["name"]: example(p.get("schema", {}), self.components, hints, p["name"])
                for p in self.parameters("query") if p.get("required")}

    def body_schema(self) -> dict | None:
        content = (self.spec.get("requestBody") or {}).get("content", {})
        return (content.get("application/json") or {}).get("schema")


def operations(services: list[str]) -> list[Operation]:
    """Every operation of the merged document, with the service whose own document has it (else the gateway)."""
    owner = {}
    for service in services:
        doc = document(service)
        for path, item in doc["paths"].items():
            for method in METHODS:
                if method in item:
                    owner[(method, path)] = (service, item[method], doc.get("components", {}), item)
    merged = document("gateway")
    found = []
    for path, item in merged["paths"].items():
        for method in METHODS:
            if method in item:
                service, spec, components, path_item = owner.get(
                    (method, path), ("gateway", item[method], merged.get("components", {}), item))
                found.append(Operation(method.upper(), path, service, spec, components, path_item))
    return found


def resolve(schema: dict, components: dict) -> dict:
    while "$ref" in schema:
        schema = components["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    if "allOf" in schema:
        merged: dict = {"type": "object", "properties": {}, "required": []}
        for part in schema["allOf"]:
            part = resolve(part, components)
            merged["properties"].update(part.get("properties", {}))
            merged["required"] += part.get("required", [])
        return merged
    for key in ("oneOf", "anyOf"):
        if key in schema:
            return resolve(next(s for s in schema[key] if s.get("type") != "null"), components)
    return schema


def example(schema: dict, components: dict, hints: dict[str, object], name: str = "") -> object:
    """A value of `schema` with only its required properties; `hints` gives values by property name (ids of
    records that exist)."""
    schema = resolve(schema, components)
    if name in hints:
        return hints[name]
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next(k for k in kind if k != "null")
    if "example" in schema:
        return schema["example"]
    if "enum" in schema:
        return next(v for v in schema["enum"] if v is not None)
    if kind == "object" or "properties" in schema:
        return {prop: example(sub, components, hints, prop) for prop, sub in schema.get("properties", {}).items()
                if prop in schema.get("required", ())}
    if kind == "array":
        return [example(schema.get("items", {}), components, hints, name)
                for _ in range(schema.get("minItems", 0))]
    if kind == "integer":
        return max(schema.get("minimum", 1), 1) if schema.get("maximum", 1) >= 1 else schema.get("minimum", 0)
    if kind == "number":
        return schema.get("minimum", 1) or 1
    if kind == "boolean":
        return True
    return string_example(schema, name)


def string_example(schema: dict, name: str) -> str:
    fmt = schema.get("format")
    if fmt == "uuid":
        return str(uuid.uuid4())
    if fmt == "date":
        return "2026-03-02"
    if fmt == "date-time":
        return "2026-03-02T09:00:00+00:00"
    if fmt == "email" or name.endswith("email"):
        return "someone@glassbox.example"
    if fmt in ("uri", "url") or name.endswith("url"):
        return "https://hooks.glassbox.example/in"
    if name in ("amount", "unit_price", "quantity", "rate_to_base") or schema.get("pattern", "").startswith("^\\d"):
        return "1.00"
    if name == "currency":
        return "USD"
    length = max(schema.get("minLength", 1), 3)
    return ("x" * length)[: schema.get("maxLength", length)]
