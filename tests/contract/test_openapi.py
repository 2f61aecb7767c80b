"""The committed OpenAPI document is the code's."""
import pytest

from glassbox import registry
from glassbox.config import PROJECT_ROOT
from glassbox.contracts import openapi_document


@pytest.mark.parametrize("service", list(registry.specs()))
def test_committed_openapi_is_current(service):
    committed = PROJECT_ROOT / "contracts" / "openapi" / f"{service}.json"
    assert committed.read_text() == openapi_document(service), f"run `glassbox openapi {service}` and commit"
