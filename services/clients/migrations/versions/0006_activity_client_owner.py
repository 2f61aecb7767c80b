"""activities carry their client's owner: a manager's activity list is an index range

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28 00:55:00

bench/clients_scale_bench.py (1M clients, 5M activities) showed a manager's whole activity list at 234 ms p50
and their overdue list at up to 272 ms p95: "assigned to others on my clients" had to read every activity of
the manager's ~5,000 clients. With the owner on the activity it is one range of (client_owner_id, due_sort, id).
"""
from alembic import op
import sqlalchemy as sa

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('activities', sa.Column('client_owner_id', sa.UUID(), nullable=True))
    op.execute("UPDATE activities AS a SET client_owner_id = c.owner_id FROM clients AS c WHERE c.id = a.client_id")
    op.alter_column('activities', 'client_owner_id', nullable=False)
    op.create_index('ix_activities_client_owner_due', 'activities', ['client_owner_id', 'due_sort', 'id'],
                    unique=False)
    op.create_index('ix_activities_planned_client_owner_due', 'activities', ['client_owner_id', 'due_sort', 'id'],
                    unique=False, postgresql_where=sa.text("status = 'planned'"))


def downgrade() -> None:
    op.drop_index('ix_activities_planned_client_owner_due', table_name='activities')
    op.drop_index('ix_activities_client_owner_due', table_name='activities')
    op.drop_column('activities', 'client_owner_id')
