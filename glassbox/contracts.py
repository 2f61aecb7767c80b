"""Generated contracts: a service's OpenAPI document, byte-stable so that the committed copy can be diffed."""
from __future__ import annotations

import importlib
import json
import tempfile
from pathlib import Path

from glassbox.auth import ensure_dev_keypair


def openapi_document(service: str) -> str:
    module = importlib.import_module(f"services.{service}")
    with tempfile.TemporaryDirectory() as keys:
        # The document does not depend on keys or servers; a throwaway key lets the app be built anywhere.
        _, public = ensure_dev_keypair(Path(keys))
        app = module.create_app({"jwt_public_key_file": public})
    spec = app.extensions["glassbox_api"].spec.to_dict()
    return json.dumps(spec, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
