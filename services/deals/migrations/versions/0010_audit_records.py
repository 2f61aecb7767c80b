"""the field-level change history (audit_records), written with each change

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 21:00:00
"""
from glassbox.migrations import create_audit_records, drop_audit_records

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_audit_records()


def downgrade() -> None:
    drop_audit_records()
