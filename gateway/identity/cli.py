"""`glassbox users ...`: the gateway's user commands (the first admin, before anyone can log in)."""
from __future__ import annotations

import uuid

import click


@click.group("users")
def users():
    """Users of the gateway's identity database."""


@users.command("create-admin")
@click.option("--email", required=True)
@click.option("--full-name", required=True)
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True,
              help="at least 10 characters (asked for when not given)")
def create_admin(email, full_name, password):
    """Create an admin user, through the same use case (and event) as POST /users."""
    from marshmallow import ValidationError

    from gateway.identity.events import TOPIC
    from gateway.identity.policy import FIRST_ADMIN
    from gateway.identity.schemas import UserCreateSchema
    from gateway.identity.service.users import create_user
    from glassbox.auth import Principal
    from glassbox.config import database_url
    from glassbox.db import Database
    from glassbox.errors import DomainError

    try:
        data = UserCreateSchema().load({"email": email, "full_name": full_name, "role": FIRST_ADMIN,
                                        "password": password})
    except ValidationError as exc:
        raise click.ClickException(f"invalid input: {exc.messages}")
    user_id = uuid.uuid4()
    db = Database(database_url("gateway"), TOPIC)
    try:
        # Nobody is logged in yet: the new admin is recorded as its own creator.
        user = create_user(db, Principal(str(user_id), FIRST_ADMIN), data, user_id=user_id)
    except DomainError as exc:
        raise click.ClickException(exc.message)
    finally:
        db.dispose()
    click.echo(f"admin {user.email} created (id {user.id})")
