"""Generated contracts: a service's OpenAPI document, byte-stable so that the committed copy can be diffed."""
from __future__ import annotations

import json
import tempfile
from pathlib import Path

from glassbox import registry
from glassbox.keys import ensure_dev_keypair


def openapi_document(service: str) -> str:
    spec = registry.spec(service)
    with tempfile.TemporaryDirectory() as keys:
        # The document does not depend on keys or servers; a throwaway key lets the app be built anywhere.
        private, public = ensure_dev_keypair(Path(keys))
        config = {"jwt_public_key_file": public}
        if spec.issues_tokens:
            config["jwt_private_key_file"] = private
        app = spec.create_app(config)
    # A service may publish more than its own routes (the gateway merges the services' documents).
    document = registry.load(spec.openapi)(app) if spec.openapi else app.extensions["glassbox_api"].spec.to_dict()
    return stable_json(document)


def stable_json(document: dict) -> str:
    """Byte-stable JSON for committed contracts, so that a drift check is a plain comparison."""
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
