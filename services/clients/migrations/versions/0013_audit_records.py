"""the field-level change history (audit_records), written with each change

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 21:00:00
"""
from glassbox.migrations import create_audit_records, drop_audit_records

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_audit_records()


def downgrade() -> None:
    drop_audit_records()
