"""users projection: the projection of the identity events is called users, as in the other services

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 12:28:37
"""
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.rename_table('managers', 'users')
    op.execute('ALTER TABLE users RENAME CONSTRAINT pk_managers TO pk_users')


def downgrade() -> None:
    op.execute('ALTER TABLE users RENAME CONSTRAINT pk_users TO pk_managers')
    op.rename_table('users', 'managers')
