"""clients carry when their owner got them: "clients assigned to me in the last 7 days" is an index range

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 17:05:00

Cards that exist already get their last assignment time from their latest crm.client.assigned.v1 in the outbox
when it is still there (sent rows are kept 7 days, exactly the window "new clients" looks at), else their
creation time.
"""
from alembic import op
import sqlalchemy as sa

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('clients', sa.Column('assigned_at', sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE clients SET assigned_at = created_at")
    op.execute("""
        UPDATE clients AS c SET assigned_at = a.last_assigned
        FROM (SELECT key, max(time) AS last_assigned FROM outbox_messages
              WHERE type = 'crm.client.assigned.v1' GROUP BY key) AS a
        WHERE a.key = c.id::text AND a.last_assigned > c.assigned_at
    """)
    op.alter_column('clients', 'assigned_at', nullable=False, server_default=sa.text('now()'))
    op.create_index('ix_clients_owner_assigned', 'clients', ['owner_id', 'assigned_at', 'id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_clients_owner_assigned', table_name='clients')
    op.drop_column('clients', 'assigned_at')
