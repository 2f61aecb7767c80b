"""The public keys every service verifies access tokens with (RFC 7517), outside /api/v1."""
from flask import Blueprint, current_app, jsonify

from glassbox.keys import JWKS_PATH

blueprint = Blueprint("jwks", __name__)


@blueprint.get(JWKS_PATH)
def jwks():
    response = jsonify(current_app.extensions["gateway_keys"].jwks())
    response.headers["Cache-Control"] = "public, max-age=300"
    return response
