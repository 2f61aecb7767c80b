"""login delays: the time of an account's last failed login, failed logins per client address

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 17:40:00
"""
from alembic import op
import sqlalchemy as sa

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('users', sa.Column('last_failed_login_at', sa.DateTime(timezone=True), nullable=True))
    op.create_table('login_addresses',
    sa.Column('address', sa.String(length=100), nullable=False),
    sa.Column('failed_logins', sa.Integer(), nullable=False),
    sa.Column('last_failed_login_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('locked_until', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('address', name=op.f('pk_login_addresses'))
    )
    op.create_index(op.f('ix_login_addresses_last_failed_login_at'), 'login_addresses', ['last_failed_login_at'],
                    unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_login_addresses_last_failed_login_at'), table_name='login_addresses')
    op.drop_table('login_addresses')
    op.drop_column('users', 'last_failed_login_at')
