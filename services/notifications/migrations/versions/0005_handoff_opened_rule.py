"""the handoff_opened rule: a stage's hand-off tells every active user of its responsible role

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 04:00:00
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    rules = sa.table('notification_rules', sa.column('code'), sa.column('name'), sa.column('recipients'),
                     sa.column('description'), sa.column('is_enabled'), sa.column('channels', postgresql.JSONB),
                     sa.column('params', postgresql.JSONB))
    # The same default channels as the other rules about work given to someone.
    op.bulk_insert(rules, [{'code': 'handoff_opened', 'name': 'Hand-off to your role', 'is_enabled': True,
                            'recipients': "every active user of the stage's responsible role",
                            'description': "A deal entered a stage that your role works and its owner is of another "
                                           "role: the work waits in your role's hand-off queue.",
                            'channels': ['in_app', 'email'], 'params': {}}])


def downgrade() -> None:
    op.execute("DELETE FROM notifications WHERE rule = 'handoff_opened'")
    op.execute("DELETE FROM notification_rules WHERE code = 'handoff_opened'")
