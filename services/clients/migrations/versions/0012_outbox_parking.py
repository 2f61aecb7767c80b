"""the outbox parks a row the broker refuses for good (when, and the error)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 18:00:00
"""
from glassbox.migrations import add_outbox_parking, drop_outbox_parking

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    add_outbox_parking()


def downgrade() -> None:
    drop_outbox_parking()
