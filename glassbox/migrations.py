"""Alembic for each service's own database: one migrations folder per service, one shared env."""
from __future__ import annotations

import importlib
from pathlib import Path

import sqlalchemy as sa
from alembic import command, context, op
from alembic.config import Config
from sqlalchemy import MetaData, create_engine, pool
from sqlalchemy.dialects import postgresql

from glassbox import registry
from glassbox.models import kit_metadata


def alembic_config(service: str, url: str) -> Config:
    package = importlib.import_module(registry.spec(service).package)
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


def ensure_extension(name: str) -> bool:
    """Whether the PostgreSQL extension `name` is installed in this database, creating it when allowed. The
    embedded server (and a DBA) installs it as superuser; `IF NOT EXISTS` then answers with a notice and checks no
    privilege, and a trusted extension (pg_trgm, PostgreSQL 13+) may be created by a database owner too. Where it
    is neither installed nor creatable, a revision skips what needs it."""
    bind = op.get_bind()
    if bind.scalar(sa.text("SELECT 1 FROM pg_extension WHERE extname = :name"), {"name": name}):
        return True
    if not bind.scalar(sa.text("SELECT 1 FROM pg_available_extensions WHERE name = :name"), {"name": name}):
        return False
    savepoint = bind.begin_nested()
    try:
        bind.execute(sa.text(f'CREATE EXTENSION IF NOT EXISTS "{name}"'))
        savepoint.commit()
        return True
    except sa.exc.DBAPIError:  # insufficient privilege
        savepoint.rollback()
        return False


def create_kit_tables() -> None:
    """The kit's tables (idempotency keys, outbox, processed events), as a service's first revision creates them.
    Frozen like any revision: a later change to the kit's models comes with a revision of its own."""
    op.create_table('idempotency_keys',
        sa.Column('principal', sa.String(length=64), nullable=False),
        sa.Column('key', sa.String(length=200), nullable=False),
        sa.Column('request_hash', sa.String(length=64), nullable=False),
        sa.Column('status_code', sa.Integer(), nullable=True),
        sa.Column('content_type', sa.Text(), nullable=True),
        sa.Column('body', sa.LargeBinary(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
        sa.PrimaryKeyConstraint('principal', 'key')
    )
    op.create_table('outbox_messages',
        sa.Column('position', sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('topic', sa.String(length=200), nullable=False),
        sa.Column('key', sa.String(length=200), nullable=False),
        sa.Column('type', sa.String(length=200), nullable=False),
        sa.Column('source', sa.String(length=200), nullable=False),
        sa.Column('time', sa.DateTime(timezone=True), nullable=False),
        sa.Column('payload', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
        sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('position'),
        sa.UniqueConstraint('id')
    )
    op.create_index('ix_outbox_unsent', 'outbox_messages', ['position'], unique=False,
                    postgresql_where=sa.text('sent_at IS NULL'))
    op.create_table('processed_events',
        sa.Column('consumer', sa.String(length=100), nullable=False),
        sa.Column('event_id', sa.String(length=64), nullable=False),
        sa.Column('event_type', sa.String(length=200), nullable=False),
        sa.Column('processed_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
        sa.PrimaryKeyConstraint('consumer', 'event_id')
    )


def add_outbox_request_id() -> None:
    """The outbox keeps each event's request id (the CloudEvents extension `requestid`): one revision per service."""
    op.add_column('outbox_messages', sa.Column('request_id', sa.String(length=128), nullable=True))


def drop_outbox_request_id() -> None:
    op.drop_column('outbox_messages', 'request_id')


def add_outbox_parking() -> None:
    """A row the broker refuses for good is parked (when, and the error) instead of blocking the rows behind it;
    the relay's scan skips parked rows: one revision per service."""
    op.add_column('outbox_messages', sa.Column('parked_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('outbox_messages', sa.Column('parked_error', sa.Text(), nullable=True))


def drop_outbox_parking() -> None:
    op.drop_column('outbox_messages', 'parked_error')
    op.drop_column('outbox_messages', 'parked_at')


def add_idempotency_carried_out() -> None:
    """Idempotency keys record, in the request's own transaction, that its change was committed: one revision per
    service."""
    op.add_column('idempotency_keys', sa.Column('carried_out_at', sa.DateTime(timezone=True), nullable=True))


def drop_idempotency_carried_out() -> None:
    op.drop_column('idempotency_keys', 'carried_out_at')


def drop_kit_tables() -> None:
    op.drop_table('processed_events')
    op.drop_index('ix_outbox_unsent', table_name='outbox_messages', postgresql_where=sa.text('sent_at IS NULL'))
    op.drop_table('outbox_messages')
    op.drop_table('idempotency_keys')


def create_audit_records() -> None:
    """The field-level change history of a service that registers models with glassbox.audit: one revision per
    service that keeps one."""
    op.create_table('audit_records',
        sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column('subject_id', sa.UUID(), nullable=False),
        sa.Column('record_type', sa.String(length=50), nullable=False),
        sa.Column('record_id', sa.UUID(), nullable=False),
        sa.Column('action', sa.String(length=10), nullable=False),
        sa.Column('changes', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column('actor_id', sa.String(length=64), nullable=True),
        sa.Column('request_id', sa.String(length=128), nullable=True),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_records'))
    )
    op.create_index('ix_audit_records_subject_at', 'audit_records', ['subject_id', 'at', 'id'], unique=False)


def drop_audit_records() -> None:
    op.drop_index('ix_audit_records_subject_at', table_name='audit_records')
    op.drop_table('audit_records')
