"""open deal totals for the board, kept by a trigger

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 00:10:00
"""
from alembic import op
import sqlalchemy as sa

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

# Per (stage, owner, currency): the number and amount of the open deals. Every change of a deal that enters or
# leaves the open set of a (stage, owner, currency), or changes its amount there, adjusts the two rows concerned in
# the same transaction. The two are touched in a fixed order (by their key), so that two transactions moving deals
# in opposite directions between the same stages never wait for each other in a cycle.
FUNCTIONS = """
CREATE FUNCTION open_deal_totals_add(p_stage uuid, p_owner uuid, p_currency varchar, p_deals integer,
                                     p_amount numeric) RETURNS void LANGUAGE sql AS $$
    INSERT INTO open_deal_totals (stage_id, owner_id, currency, deals, amount)
    VALUES (p_stage, p_owner, p_currency, p_deals, p_amount)
    ON CONFLICT (stage_id, owner_id, currency) DO UPDATE
    SET deals = open_deal_totals.deals + EXCLUDED.deals, amount = open_deal_totals.amount + EXCLUDED.amount
$$;

CREATE FUNCTION open_deal_totals_track() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    old_key text;
    new_key text;
BEGIN
    IF TG_OP <> 'INSERT' AND OLD.status = 'open' THEN
        old_key := OLD.stage_id::text || OLD.owner_id::text || OLD.amount_currency;
    END IF;
    IF TG_OP <> 'DELETE' AND NEW.status = 'open' THEN
        new_key := NEW.stage_id::text || NEW.owner_id::text || NEW.amount_currency;
    END IF;
    IF old_key IS NOT NULL AND (new_key IS NULL OR old_key <= new_key) THEN
        PERFORM open_deal_totals_add(OLD.stage_id, OLD.owner_id, OLD.amount_currency, -1, -OLD.amount_amount);
        IF new_key IS NOT NULL THEN
            PERFORM open_deal_totals_add(NEW.stage_id, NEW.owner_id, NEW.amount_currency, 1, NEW.amount_amount);
        END IF;
    ELSIF new_key IS NOT NULL THEN
        PERFORM open_deal_totals_add(NEW.stage_id, NEW.owner_id, NEW.amount_currency, 1, NEW.amount_amount);
        IF old_key IS NOT NULL THEN
            PERFORM open_deal_totals_add(OLD.stage_id, OLD.owner_id, OLD.amount_currency, -1, -OLD.amount_amount);
        END IF;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER open_deal_totals_track
AFTER INSERT OR DELETE OR UPDATE OF status, stage_id, owner_id, amount_amount, amount_currency ON deals
FOR EACH ROW EXECUTE FUNCTION open_deal_totals_track();
"""


def upgrade() -> None:
    op.create_table('open_deal_totals',
    sa.Column('stage_id', sa.UUID(), nullable=False),
    sa.Column('owner_id', sa.UUID(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('deals', sa.Integer(), nullable=False),
    sa.Column('amount', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.ForeignKeyConstraint(['stage_id'], ['stages.id'], name=op.f('fk_open_deal_totals_stage_id'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('stage_id', 'owner_id', 'currency', name=op.f('pk_open_deal_totals'))
    )
    op.execute(FUNCTIONS)
    op.execute("INSERT INTO open_deal_totals (stage_id, owner_id, currency, deals, amount) "
               "SELECT stage_id, owner_id, amount_currency, count(*), sum(amount_amount) FROM deals "
               "WHERE status = 'open' GROUP BY stage_id, owner_id, amount_currency")


def downgrade() -> None:
    op.execute("DROP TRIGGER open_deal_totals_track ON deals")
    op.execute("DROP FUNCTION open_deal_totals_track()")
    op.execute("DROP FUNCTION open_deal_totals_add(uuid, uuid, varchar, integer, numeric)")
    op.drop_table('open_deal_totals')
