"""import jobs; trigram search indexes

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27 22:35:00
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from glassbox.migrations import ensure_extension

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

TRIGRAM_SEARCHED = ("name", "email", "tax_id", "phone")


def upgrade() -> None:
    op.create_table('import_jobs',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('created_by', sa.UUID(), nullable=False),
    sa.Column('created_by_role', sa.String(length=30), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=True),
    sa.Column('content', sa.LargeBinary(), nullable=False),
    sa.Column('total_rows', sa.Integer(), nullable=False),
    sa.Column('processed_rows', sa.Integer(), nullable=False),
    sa.Column('created', sa.Integer(), nullable=False),
    sa.Column('skipped_duplicates', sa.Integer(), nullable=False),
    sa.Column('failed_rows', sa.Integer(), nullable=False),
    sa.Column('errors', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('heartbeat_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status IN ('queued', 'running', 'done', 'failed')", name=op.f('ck_import_jobs_status')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_import_jobs'))
    )
    op.create_index(op.f('ix_import_jobs_created_by'), 'import_jobs', ['created_by'], unique=False)
    op.create_index('ix_import_jobs_pending', 'import_jobs', ['created_at'], unique=False,
                    postgresql_where=sa.text("status IN ('queued', 'running')"))
    if ensure_extension("pg_trgm"):
        for column in TRIGRAM_SEARCHED:
            op.create_index(f'ix_clients_{column}_trgm', 'clients', [column], unique=False,
                            postgresql_using='gin', postgresql_ops={column: 'gin_trgm_ops'})


def downgrade() -> None:
    for column in TRIGRAM_SEARCHED:
        op.execute(f'DROP INDEX IF EXISTS ix_clients_{column}_trgm')
    op.drop_index('ix_import_jobs_pending', table_name='import_jobs')
    op.drop_index(op.f('ix_import_jobs_created_by'), table_name='import_jobs')
    op.drop_table('import_jobs')
