"""the stage entries' primary key carries the stay's stage

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28 05:00:00

/kpi/funnel's `entered` and /kpi/managers' weakest stage look up the stays of every deal created in the period
for the furthest stage each one reached. The key now includes `stage_id` and `stage_position`, so the lookup is
an index-only scan instead of a visit to the table per stay (a larger key rather than a second index on
`deal_id`; figures: docs/benchmarks.md). Same rows, same answers.
"""
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE stage_entries DROP CONSTRAINT pk_stage_entries, "
               "ADD CONSTRAINT pk_stage_entries PRIMARY KEY (deal_id, entered_at) INCLUDE (stage_id, stage_position)")


def downgrade() -> None:
    op.execute("ALTER TABLE stage_entries DROP CONSTRAINT pk_stage_entries, "
               "ADD CONSTRAINT pk_stage_entries PRIMARY KEY (deal_id, entered_at)")
