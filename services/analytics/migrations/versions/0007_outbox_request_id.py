"""the outbox keeps each event's request id (the CloudEvents extension requestid)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 17:00:00
"""
from glassbox.migrations import add_outbox_request_id, drop_outbox_request_id

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    add_outbox_request_id()


def downgrade() -> None:
    drop_outbox_request_id()
