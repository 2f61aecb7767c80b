"""the outbox keeps each event's request id (the CloudEvents extension requestid)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 17:00:00
"""
from glassbox.migrations import add_outbox_request_id, drop_outbox_request_id

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    add_outbox_request_id()


def downgrade() -> None:
    drop_outbox_request_id()
