"""indexes for the lists at scale: a manager's planned activities, clients of a campaign

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27 23:45:00

Found with bench/clients_scale_bench.py (1M clients, 5M activities): a manager's overdue and planned
activities read every activity of their clients and all their own (now index ranges over the planned ones
only: the work that is still to do), and the first page of a campaign's clients walked the whole
created_at index backwards (now one range of (campaign_id, created_at, id)). ix_activities_overdue, on due_at,
goes: the overdue filter is written on due_sort (services/clients/service.py list_activities), and it
misled the planner into ANDing 1.5M-entry bitmaps. Built and dropped CONCURRENTLY: on a live database these
tables are big and written all day, and a plain CREATE INDEX would block their writes while it runs.
"""
from alembic import op
import sqlalchemy as sa

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

PLANNED = sa.text("status = 'planned'")


def upgrade() -> None:
    with op.get_context().autocommit_block():
        op.create_index('ix_activities_planned_assignee_due', 'activities', ['assignee_id', 'due_sort', 'id'],
                        unique=False, postgresql_where=PLANNED, postgresql_concurrently=True, if_not_exists=True)
        op.create_index('ix_activities_planned_client_due', 'activities', ['client_id', 'due_sort', 'id'],
                        unique=False, postgresql_where=PLANNED, postgresql_concurrently=True, if_not_exists=True)
        op.create_index('ix_clients_campaign_created', 'clients', ['campaign_id', 'created_at', 'id'], unique=False,
                        postgresql_concurrently=True, if_not_exists=True)
        op.drop_index('ix_clients_campaign', table_name='clients', postgresql_concurrently=True, if_exists=True)
        op.drop_index('ix_activities_overdue', table_name='activities', postgresql_concurrently=True, if_exists=True)


def downgrade() -> None:
    with op.get_context().autocommit_block():
        op.create_index('ix_activities_overdue', 'activities', ['due_at'], unique=False, postgresql_where=PLANNED,
                        postgresql_concurrently=True, if_not_exists=True)
        op.create_index('ix_clients_campaign', 'clients', ['campaign_id'], unique=False,
                        postgresql_concurrently=True, if_not_exists=True)
        op.drop_index('ix_clients_campaign_created', table_name='clients', postgresql_concurrently=True,
                      if_exists=True)
        op.drop_index('ix_activities_planned_client_due', table_name='activities', postgresql_concurrently=True,
                      if_exists=True)
        op.drop_index('ix_activities_planned_assignee_due', table_name='activities', postgresql_concurrently=True,
                      if_exists=True)
