"""The committed OpenAPI document is the code's."""
import pytest

from glassbox import registry
from glassbox.config import PROJECT_ROOT
from glassbox.contracts import openapi_document


@pytest.mark.parametrize("service", list(registry.specs()))
def test_committed_openapi_is_current(service):
    committed = PROJECT_ROOT / "contracts" / "openapi" / f"{service}.json"
    assert committed.read_text() == openapi_document(service), f"run `glassbox openapi {service}` and commit"


@pytest.mark.parametrize("service", ["clients", "gateway"])
def test_deleting_a_client_is_documented_as_archiving_it(service):
    import json

    document = json.loads((PROJECT_ROOT / "contracts" / "openapi" / f"{service}.json").read_text())
    operation = document["paths"]["/api/v1/clients/{client_id}"]["delete"]
    assert operation["summary"] == "Archive a client"
    assert "Nothing is deleted" in operation["description"]
