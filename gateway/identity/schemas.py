"""Request and response schemas of identity. Loads raise on unknown fields (marshmallow's RAISE), so a
caller can never set ids, password hashes, activity or lockout state by adding fields."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from glassbox.auth import ROLES
from glassbox.web import PageArgs, Sort, page_schema
from glassbox.web.fields import name as name_field

PASSWORD_MIN_LENGTH = 10
PASSWORD_MAX_LENGTH = 1000  # Argon2 takes any length; the cap only keeps bodies sane


def _role(**kwargs):
    return fields.String(validate=validate.OneOf(ROLES), **kwargs)


# -- tokens --------------------------------------------------------------------------------------------

SESSION_MODES = ("token", "cookie")


class LoginSchema(Schema):
    # Any string: a malformed e-mail is answered like an unknown one.
    email = fields.String(required=True, validate=validate.Length(min=1, max=254))
    password = fields.String(required=True, load_only=True, validate=validate.Length(min=1, max=PASSWORD_MAX_LENGTH))
    session = fields.String(load_default="token", validate=validate.OneOf(SESSION_MODES), metadata={
        "description": "token: the refresh token in the answer; cookie (a browser): in the HttpOnly cookie "
                       "glassbox_refresh (Path=/api/v1/auth), with a CSRF token in the answer and in the cookie "
                       "glassbox_csrf, to be repeated in the X-CSRF-Token header of refresh and logout"})


class RefreshTokenSchema(Schema):
    refresh_token = fields.String(load_only=True, validate=validate.Length(min=1, max=200), metadata={
        "description": "absent (an empty body or {}): the glassbox_refresh cookie of a browser session, with the "
                       "X-CSRF-Token header equal to the glassbox_csrf cookie (else 403)"})


class TokenPairSchema(Schema):
    access_token = fields.String(required=True, metadata={"description": "RS256 JWT for the Authorization header"})
    refresh_token = fields.String(metadata={"description": "opaque; for one POST /auth/refresh. Token mode only: "
                                                           "a browser session gets it in the glassbox_refresh cookie"})
    token_type = fields.String(required=True, metadata={"description": "always Bearer"})
    expires_in = fields.Integer(required=True, metadata={"description": "seconds until the access token expires"})
    csrf_token = fields.String(metadata={"description": "cookie mode only: the value of the glassbox_csrf cookie, "
                                                        "for the X-CSRF-Token header"})


class MeSchema(Schema):
    """The caller: a user, or the API token it authenticated with (then `name` instead of the profile)."""

    kind = fields.String(required=True, validate=validate.OneOf(("user", "api_token")))
    id = fields.UUID(required=True)
    role = fields.String(required=True)
    email = fields.String()
    full_name = fields.String()
    team_id = fields.UUID(allow_none=True)
    is_active = fields.Boolean()
    name = fields.String()


# -- users ---------------------------------------------------------------------------------------------

class UserFields(Schema):
    """What an admin may edit (PATCH takes any subset); e-mail and password are set on create."""

    full_name = name_field(200)
    role = _role()
    team_id = fields.UUID(allow_none=True)


class UserCreateSchema(UserFields):
    email = fields.Email(required=True, validate=validate.Length(max=254))
    full_name = name_field(200, required=True)
    role = _role(required=True)
    password = fields.String(required=True, load_only=True,
                             validate=validate.Length(min=PASSWORD_MIN_LENGTH, max=PASSWORD_MAX_LENGTH))


class UserUpdateSchema(UserFields):
    """Activity changes go through POST /users/{id}/deactivate and /activate, never through PATCH."""


class UserSchema(UserFields):
    id = fields.UUID(dump_only=True)
    email = fields.String(dump_only=True)
    is_active = fields.Boolean(dump_only=True)
    locked_until = fields.DateTime(dump_only=True, allow_none=True,
                                   metadata={"description": "set while the next login waits after failed attempts"})
    created_at = fields.DateTime(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)
    deactivated_at = fields.DateTime(dump_only=True, allow_none=True)


class UserQueryArgs(PageArgs):
    q = fields.String(validate=validate.Length(min=1, max=200), metadata={"description": "search in e-mail and name"})
    role = _role()
    team_id = fields.UUID()
    is_active = fields.Boolean()
    sort = Sort("email", "full_name", "created_at", default="email")


UserPageSchema = page_schema(UserSchema, "UserPage")


# -- teams ---------------------------------------------------------------------------------------------

class TeamWriteSchema(Schema):
    name = name_field(200, required=True)


class TeamSchema(TeamWriteSchema):
    id = fields.UUID(dump_only=True)
    created_at = fields.DateTime(dump_only=True)


TeamPageSchema = page_schema(TeamSchema, "TeamPage")


# -- API tokens ----------------------------------------------------------------------------------------

class ApiTokenCreateSchema(Schema):
    name = name_field(100, required=True)
    role = _role(required=True)


class ApiTokenSchema(ApiTokenCreateSchema):
    id = fields.UUID(dump_only=True)
    prefix = fields.String(dump_only=True, metadata={"description": "the first characters of the secret"})
    created_by = fields.UUID(dump_only=True)
    created_at = fields.DateTime(dump_only=True)
    last_used_at = fields.DateTime(dump_only=True, allow_none=True, metadata={"description": "to the minute"})
    revoked_at = fields.DateTime(dump_only=True, allow_none=True)


class ApiTokenCreatedSchema(ApiTokenSchema):
    token = fields.String(dump_only=True, attribute="secret",
                          metadata={"description": "the secret, shown in this answer only: store it now"})


ApiTokenPageSchema = page_schema(ApiTokenSchema, "ApiTokenPage")
