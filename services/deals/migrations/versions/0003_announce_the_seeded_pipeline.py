"""announce the seeded default pipeline with crm.pipeline.created.v1

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 00:20:00

Migration 0001 seeds the default pipeline straight into the tables, so no use case ever announced it, and
subscribers (analytics) would not know its stages' SLA days or probabilities until someone edits it. This
puts its crm.pipeline.created.v1 into the outbox, as the use case would have, for the relay to publish.
The actor is the nil UUID: the system, not a user.
"""
import uuid

import sqlalchemy as sa
from alembic import op

from glassbox.events import DomainEvent
from glassbox.outbox import write_events

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

SYSTEM_ACTOR = "00000000-0000-0000-0000-000000000000"
DEFAULT_PIPELINE_ID = uuid.uuid5(uuid.UUID("3b8e51d2-6c0f-4f7a-9a1e-5d2c7b04e8f3"), "pipeline:Sales")  # 0001's seed_id


def upgrade() -> None:
    bind = op.get_bind()
    pipeline = bind.execute(sa.text("SELECT id, name, is_default, created_at, updated_at FROM pipelines "
                                    "WHERE id = :id"), {"id": DEFAULT_PIPELINE_ID}).mappings().first()
    if pipeline is None:  # removed before this migration ran: nothing to announce
        return
    stages = bind.execute(sa.text(
        "SELECT id AS stage_id, name, position, probability, sla_days, responsible_role, is_active FROM stages "
        "WHERE pipeline_id = :id ORDER BY is_active DESC, position"), {"id": DEFAULT_PIPELINE_ID}).mappings().all()
    payload = {"pipeline_id": pipeline["id"], "name": pipeline["name"], "is_default": pipeline["is_default"],
               "created_at": pipeline["created_at"], "updated_at": pipeline["updated_at"],
               "stages": [dict(stage) for stage in stages], "actor_id": SYSTEM_ACTOR}
    event = DomainEvent(type="crm.pipeline.created.v1", source="/crm/deals", subject=str(pipeline["id"]),
                        data=payload, time=pipeline["created_at"])
    write_events(bind, [event], "crm.deals.events")


def downgrade() -> None:
    op.execute(sa.text("DELETE FROM outbox_messages WHERE type = 'crm.pipeline.created.v1' AND key = :key "
                       "AND sent_at IS NULL").bindparams(key=str(DEFAULT_PIPELINE_ID)))
