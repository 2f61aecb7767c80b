"""Alembic for each service's own database: one migrations folder per service, one shared env."""
from __future__ import annotations

import importlib
from pathlib import Path

from alembic import command, context
from alembic.config import Config
from sqlalchemy import MetaData, create_engine, pool

from glassbox.config import package_of
from glassbox.models import kit_metadata


def alembic_config(service: str, url: str) -> Config:
    package = importlib.import_module(package_of(service))
    config = Config()
    config.set_main_option("script_location", str(Path(package.__file__).parent / "migrations"))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))  # configparser interpolation
    config.attributes["service"] = service
    return config


def upgrade(service: str, url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(service, url), revision)


def run_env(service_metadata: MetaData, service: str) -> None:
    """The body of every service's migrations/env.py: the service's tables plus the kit's (outbox,
    processed events, idempotency keys), with the version table named after the service."""
    options = dict(target_metadata=[service_metadata, kit_metadata], version_table=f"alembic_version_{service}",
                   compare_type=True)
    url = context.config.get_main_option("sqlalchemy.url")
    if context.is_offline_mode():
        context.configure(url=url, literal_binds=True, **options)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(connection=connection, **options)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()
