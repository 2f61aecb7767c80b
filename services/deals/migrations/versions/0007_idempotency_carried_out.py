"""idempotency keys record, in the request's own transaction, that its change was committed

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 17:30:00
"""
from glassbox.migrations import add_idempotency_carried_out, drop_idempotency_carried_out

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    add_idempotency_carried_out()


def downgrade() -> None:
    drop_idempotency_carried_out()
