"""Identity: users, teams, API tokens and passwords, logging in and the signing keys (published as JWKS).
The only part of the gateway with a database; it emits the user events on crm.identity.events."""
from __future__ import annotations

from flask import Flask

from glassbox.keys import KeyRing


def init_app(app: Flask) -> None:
    """The key ring that signs access tokens (the current key and any being rotated in or out), and its
    public half at /.well-known/jwks.json."""
    from gateway.identity import jwks

    settings = app.config["GLASSBOX_SETTINGS"]
    app.extensions["gateway_keys"] = KeyRing.from_files(settings.jwt_private_key_file,
                                                        list(settings.jwt_extra_public_key_files))
    app.register_blueprint(jwks.blueprint)
