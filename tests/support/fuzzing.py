"""Property-based fuzzing of a service's OpenAPI document with schemathesis: every operation of the document the app
serves, positive and negative data, every check, a fixed number of examples derandomized (so a CI run is
reproducible); GLASSBOX_FUZZ_EXAMPLES raises the number for a deeper run."""
from __future__ import annotations

import os

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.config import PositiveDataAcceptanceConfig
from schemathesis.config._checks import NegativeDataRejectionConfig  # not re-exported by schemathesis.config

EXAMPLES = int(os.environ.get("GLASSBOX_FUZZ_EXAMPLES", "3"))  # per operation and mode; CI keeps within its budget
MODES = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
# Schema-valid data the services still refuse by rule, as documented: days outside 1900-9998 (x-minimum and
# x-maximum, which JSON Schema cannot say of a date), check digits (INN, BIK), one of two fields, cursors the
# service did not issue. The other checks still hold those answers to the error shape and the document.
BUSINESS_REFUSALS = ["400", "422"]
# Refusals of invalid data that schemathesis does not count as such: a body over MAX_CONTENT_LENGTH, a URI over the
# kit's limit, a body that is not JSON.
SIZE_AND_TYPE_REFUSALS = ["413", "414", "415"]
# An endless Server-Sent Events stream: fuzzed requests would never end.
SKIPPED = ("GET /api/v1/notifications/stream",)


def load(app):
    """The schema the app serves at /openapi.json, configured for the fuzzing."""
    schema = schemathesis.openapi.from_wsgi("/openapi.json", app)
    schema.config.generation.update(modes=list(MODES), max_examples=EXAMPLES, deterministic=True)
    schema.config.checks.positive_data_acceptance = PositiveDataAcceptanceConfig(
        expected_statuses=[*PositiveDataAcceptanceConfig._DEFAULT_EXPECTED_STATUSES, *BUSINESS_REFUSALS])
    schema.config.checks.negative_data_rejection = NegativeDataRejectionConfig(
        expected_statuses=[*NegativeDataRejectionConfig._DEFAULT_EXPECTED_STATUSES, *SIZE_AND_TYPE_REFUSALS])
    return schema


def failure_summary(exc: BaseException) -> str:
    """The failure's titles, the answer and the request to reproduce it, from schemathesis' report."""
    lines = [line.strip() for line in str(exc).splitlines()]
    keep = [line for line in lines if line.startswith(("- ", "[", "`", "curl"))]
    return " | ".join(keep)[:1500]


def fuzz(schema, token: str, only=None) -> tuple[int, list[str]]:
    """Run every operation of `schema` (those whose "METHOD path" is in `only`, when given) with the caller's token:
    (examples run, failures)."""
    failures: list[str] = []
    count = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        key = f"{operation.method.upper()} {operation.path}"
        if key in SKIPPED or (only is not None and key not in only):
            continue
        for mode in MODES:
            seen: set[str] = set()

            @settings(max_examples=EXAMPLES, derandomize=True, database=None, deadline=None,
                      suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate])
            @given(operation.as_strategy(generation_mode=mode))
            def run(case):
                nonlocal count
                count += 1
                try:
                    case.call_and_validate(headers={"Authorization": f"Bearer {token}"})
                except (Exception, BaseExceptionGroup) as exc:  # noqa: B902 - collected, reported at the end
                    summary = failure_summary(exc)
                    title = summary.split(" | ")[0]
                    if title not in seen:  # one example of each kind of failure per operation and mode
                        seen.add(title)
                        failures.append(f"{operation.label} ({mode.value}): {summary}")

            try:
                run()
            except Unsatisfiable:  # nothing to get wrong (no parameters, no body): no negative data exists
                assert mode is GenerationMode.NEGATIVE, operation.label
    return count, failures
