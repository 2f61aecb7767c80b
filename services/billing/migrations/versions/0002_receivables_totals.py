"""receivables and payment plan totals kept by triggers; indexes for the aging of a page of clients and for received

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02 16:00:00

GET /receivables summed every open invoice on every request, twice (the rows, then the totals): at a million
invoices a head of sales' page of clients was a hash aggregate over every client that owes, spilling to disk
(docs/benchmarks.md, billing). The open invoices' outstanding amounts are now kept summed per client (to rank the
clients) and per owner and due day (the totals and the managers' rows, aged on any day), by a trigger on invoices;
the figures of the clients on a page come from their own open invoices (ix_invoices_open_client). Planned vs
received joined each instalment due in the period to its invoice: the instalments are now kept summed per owner,
currency and due day too (triggers on planned_payments, and on invoices for a cancellation, reassignment or change
of currency), and the payments received are read from an index alone.
"""
from alembic import op
import sqlalchemy as sa

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

OPEN = "status IN ('issued', 'partially_paid')"

# One group's row gets a change of its count and amount (inserted when new); a row left with no open invoice is
# deleted (found by the ctid its upsert returned: owner_id may be null, which no index lookup by equality finds).
ADD = """
CREATE FUNCTION {table}_add({parameters}, p_invoices integer, p_amount numeric) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    left_open integer;
    row_id tid;
BEGIN
    INSERT INTO {table} AS t ({columns}, invoices, outstanding) VALUES ({values}, p_invoices, p_amount)
    ON CONFLICT ON CONSTRAINT {constraint} DO UPDATE
    SET invoices = t.invoices + excluded.invoices, outstanding = t.outstanding + excluded.outstanding
    RETURNING t.invoices, t.ctid INTO left_open, row_id;
    IF left_open = 0 THEN
        DELETE FROM {table} WHERE ctid = row_id;
    END IF;
END
$$;
"""
TABLES = {
    "open_receivables_by_client": ("uq_open_receivables_by_client_client_id",
                                   [("client_id", "uuid"), ("owner_id", "uuid"), ("currency", "varchar")]),
    "open_receivables_by_day": ("uq_open_receivables_by_day_owner_id",
                                [("owner_id", "uuid"), ("currency", "varchar"), ("due_on", "date")]),
}
PLANNED_ADD = """
CREATE FUNCTION planned_by_day_add(p_owner_id uuid, p_currency varchar, p_due_on date, p_instalments integer,
                                   p_amount numeric) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    left_planned integer;
    row_id tid;
BEGIN
    INSERT INTO planned_by_day AS t (owner_id, currency, due_on, instalments, amount)
    VALUES (p_owner_id, p_currency, p_due_on, p_instalments, p_amount)
    ON CONFLICT ON CONSTRAINT uq_planned_by_day_owner_id DO UPDATE
    SET instalments = t.instalments + excluded.instalments, amount = t.amount + excluded.amount
    RETURNING t.instalments, t.ctid INTO left_planned, row_id;
    IF left_planned = 0 THEN
        DELETE FROM planned_by_day WHERE ctid = row_id;
    END IF;
END
$$;
"""

# An invoice counts while it is open (issued or partially paid), for what it still owes. A change that keeps it open
# in the same groups changes their amounts once; any other change takes it out of its old groups and into its new
# ones, each table's two rows in the order of their keys, so that two transactions moving invoices in opposite
# directions never wait for each other in a cycle.
TRACK = """
CREATE FUNCTION open_receivables_track() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    was_open boolean := false;
    is_open boolean := false;
    old_owes numeric;
    new_owes numeric;
    old_key text;
    new_key text;
BEGIN
    IF TG_OP <> 'INSERT' THEN
        was_open := OLD.status IN ('issued', 'partially_paid');
        old_owes := OLD.total_amount - OLD.paid_amount;
    END IF;
    IF TG_OP <> 'DELETE' THEN
        is_open := NEW.status IN ('issued', 'partially_paid');
        new_owes := NEW.total_amount - NEW.paid_amount;
    END IF;
    IF was_open AND is_open AND OLD.client_id = NEW.client_id AND OLD.owner_id IS NOT DISTINCT FROM NEW.owner_id
            AND OLD.currency = NEW.currency AND OLD.due_on = NEW.due_on THEN
        IF new_owes <> old_owes THEN
            PERFORM open_receivables_by_client_add(NEW.client_id, NEW.owner_id, NEW.currency, 0, new_owes - old_owes);
            PERFORM open_receivables_by_day_add(NEW.owner_id, NEW.currency, NEW.due_on, 0, new_owes - old_owes);
        END IF;
        RETURN NULL;
    END IF;
    IF was_open THEN
        old_key := OLD.client_id::text || coalesce(OLD.owner_id::text, '') || OLD.currency;
    END IF;
    IF is_open THEN
        new_key := NEW.client_id::text || coalesce(NEW.owner_id::text, '') || NEW.currency;
    END IF;
    IF was_open AND (NOT is_open OR old_key <= new_key) THEN
        PERFORM open_receivables_by_client_add(OLD.client_id, OLD.owner_id, OLD.currency, -1, -old_owes);
        IF is_open THEN
            PERFORM open_receivables_by_client_add(NEW.client_id, NEW.owner_id, NEW.currency, 1, new_owes);
        END IF;
    ELSIF is_open THEN
        PERFORM open_receivables_by_client_add(NEW.client_id, NEW.owner_id, NEW.currency, 1, new_owes);
        IF was_open THEN
            PERFORM open_receivables_by_client_add(OLD.client_id, OLD.owner_id, OLD.currency, -1, -old_owes);
        END IF;
    END IF;
    IF was_open THEN
        old_key := coalesce(OLD.owner_id::text, '') || OLD.currency || OLD.due_on::text;
    END IF;
    IF is_open THEN
        new_key := coalesce(NEW.owner_id::text, '') || NEW.currency || NEW.due_on::text;
    END IF;
    IF was_open AND (NOT is_open OR old_key <= new_key) THEN
        PERFORM open_receivables_by_day_add(OLD.owner_id, OLD.currency, OLD.due_on, -1, -old_owes);
        IF is_open THEN
            PERFORM open_receivables_by_day_add(NEW.owner_id, NEW.currency, NEW.due_on, 1, new_owes);
        END IF;
    ELSIF is_open THEN
        PERFORM open_receivables_by_day_add(NEW.owner_id, NEW.currency, NEW.due_on, 1, new_owes);
        IF was_open THEN
            PERFORM open_receivables_by_day_add(OLD.owner_id, OLD.currency, OLD.due_on, -1, -old_owes);
        END IF;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER open_receivables_track
AFTER INSERT OR DELETE OR UPDATE OF status, client_id, owner_id, currency, due_on, total_amount, paid_amount
ON invoices FOR EACH ROW EXECUTE FUNCTION open_receivables_track();
"""

# An instalment counts, under its invoice's owner and currency, unless the invoice is cancelled. Invoices are never
# deleted (they are cancelled), so an instalment always finds its invoice.
PLANNED_TRACK = """
CREATE FUNCTION planned_by_day_track() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    invoice record;
BEGIN
    IF TG_OP <> 'INSERT' THEN
        SELECT owner_id, currency, status INTO invoice FROM invoices WHERE id = OLD.invoice_id;
        IF FOUND AND invoice.status <> 'cancelled' THEN
            PERFORM planned_by_day_add(invoice.owner_id, invoice.currency, OLD.due_on, -1, -OLD.amount);
        END IF;
    END IF;
    IF TG_OP <> 'DELETE' THEN
        SELECT owner_id, currency, status INTO invoice FROM invoices WHERE id = NEW.invoice_id;
        IF FOUND AND invoice.status <> 'cancelled' THEN
            PERFORM planned_by_day_add(invoice.owner_id, invoice.currency, NEW.due_on, 1, NEW.amount);
        END IF;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER planned_by_day_track AFTER INSERT OR DELETE OR UPDATE OF invoice_id, due_on, amount
ON planned_payments FOR EACH ROW EXECUTE FUNCTION planned_by_day_track();

CREATE FUNCTION planned_by_day_follow_invoice() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    instalment record;
BEGIN
    IF (OLD.status = 'cancelled') = (NEW.status = 'cancelled') AND OLD.owner_id IS NOT DISTINCT FROM NEW.owner_id
            AND OLD.currency = NEW.currency THEN
        RETURN NULL;
    END IF;
    FOR instalment IN SELECT due_on, amount FROM planned_payments WHERE invoice_id = NEW.id ORDER BY due_on LOOP
        IF OLD.status <> 'cancelled' THEN
            PERFORM planned_by_day_add(OLD.owner_id, OLD.currency, instalment.due_on, -1, -instalment.amount);
        END IF;
        IF NEW.status <> 'cancelled' THEN
            PERFORM planned_by_day_add(NEW.owner_id, NEW.currency, instalment.due_on, 1, instalment.amount);
        END IF;
    END LOOP;
    RETURN NULL;
END
$$;

CREATE TRIGGER planned_by_day_follow_invoice AFTER UPDATE OF status, owner_id, currency
ON invoices FOR EACH ROW EXECUTE FUNCTION planned_by_day_follow_invoice();
"""

# The totals of the invoices already there (also what bench/billing recomputes after its bulk load).
FILL = [
    "INSERT INTO open_receivables_by_client (client_id, owner_id, currency, invoices, outstanding) "
    f"SELECT client_id, owner_id, currency, count(*), sum(total_amount - paid_amount) FROM invoices WHERE {OPEN} "
    "GROUP BY client_id, owner_id, currency",
    "INSERT INTO open_receivables_by_day (owner_id, currency, due_on, invoices, outstanding) "
    f"SELECT owner_id, currency, due_on, count(*), sum(total_amount - paid_amount) FROM invoices WHERE {OPEN} "
    "GROUP BY owner_id, currency, due_on",
    "INSERT INTO planned_by_day (owner_id, currency, due_on, instalments, amount) "
    "SELECT i.owner_id, i.currency, p.due_on, count(*), sum(p.amount) FROM planned_payments p "
    "JOIN invoices i ON i.id = p.invoice_id WHERE i.status <> 'cancelled' GROUP BY i.owner_id, i.currency, p.due_on",
]


def _add_function(table: str) -> str:
    constraint, key = TABLES[table]
    return ADD.format(table=table, constraint=constraint, columns=", ".join(column for column, _ in key),
                      parameters=", ".join(f"p_{column} {type_}" for column, type_ in key),
                      values=", ".join(f"p_{column}" for column, _ in key))


def upgrade() -> None:
    op.create_table('open_receivables_by_client',
    sa.Column('client_id', sa.UUID(), nullable=False),
    sa.Column('owner_id', sa.UUID(), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('invoices', sa.Integer(), nullable=False),
    sa.Column('outstanding', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.UniqueConstraint('client_id', 'owner_id', 'currency', name='uq_open_receivables_by_client_client_id',
                        postgresql_nulls_not_distinct=True)
    )
    op.create_index('ix_open_receivables_by_client_outstanding', 'open_receivables_by_client', ['outstanding'],
                    unique=False)
    op.create_index('ix_open_receivables_by_client_owner', 'open_receivables_by_client', ['owner_id', 'outstanding'],
                    unique=False)
    op.create_table('open_receivables_by_day',
    sa.Column('owner_id', sa.UUID(), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('invoices', sa.Integer(), nullable=False),
    sa.Column('outstanding', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.UniqueConstraint('owner_id', 'currency', 'due_on', name='uq_open_receivables_by_day_owner_id',
                        postgresql_nulls_not_distinct=True)
    )
    op.create_table('planned_by_day',
    sa.Column('owner_id', sa.UUID(), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('instalments', sa.Integer(), nullable=False),
    sa.Column('amount', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.UniqueConstraint('owner_id', 'currency', 'due_on', name='uq_planned_by_day_owner_id',
                        postgresql_nulls_not_distinct=True)
    )
    op.create_index('ix_planned_by_day_due_on', 'planned_by_day', ['due_on'], unique=False,
                    postgresql_include=['owner_id', 'currency', 'amount'])
    op.create_index('ix_invoices_open_client', 'invoices', ['client_id'], unique=False,
                    postgresql_where=sa.text(OPEN),
                    postgresql_include=['owner_id', 'currency', 'due_on', 'total_amount', 'paid_amount'])
    op.create_index('ix_payments_received', 'payments', ['paid_on'], unique=False,
                    postgresql_where=sa.text("status = 'recorded'"),
                    postgresql_include=['owner_id', 'client_id', 'currency', 'amount'])
    for table in TABLES:
        op.execute(_add_function(table))
    op.execute(TRACK)
    op.execute(PLANNED_ADD)
    op.execute(PLANNED_TRACK)
    for statement in FILL:
        op.execute(statement)


def downgrade() -> None:
    op.execute("DROP TRIGGER planned_by_day_follow_invoice ON invoices")
    op.execute("DROP FUNCTION planned_by_day_follow_invoice()")
    op.execute("DROP TRIGGER planned_by_day_track ON planned_payments")
    op.execute("DROP FUNCTION planned_by_day_track()")
    op.execute("DROP FUNCTION planned_by_day_add(uuid, varchar, date, integer, numeric)")
    op.execute("DROP TRIGGER open_receivables_track ON invoices")
    op.execute("DROP FUNCTION open_receivables_track()")
    for table, (_, key) in TABLES.items():
        op.execute(f"DROP FUNCTION {table}_add({', '.join(type_ for _, type_ in key)}, integer, numeric)")
    op.drop_index('ix_payments_received', table_name='payments', postgresql_where=sa.text("status = 'recorded'"))
    op.drop_index('ix_invoices_open_client', table_name='invoices', postgresql_where=sa.text(OPEN))
    op.drop_index('ix_planned_by_day_due_on', table_name='planned_by_day')
    op.drop_table('planned_by_day')
    op.drop_table('open_receivables_by_day')
    op.drop_index('ix_open_receivables_by_client_owner', table_name='open_receivables_by_client')
    op.drop_index('ix_open_receivables_by_client_outstanding', table_name='open_receivables_by_client')
    op.drop_table('open_receivables_by_client')
