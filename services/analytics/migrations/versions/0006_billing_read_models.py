"""billing read models

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 15:00:00

The read models of crm.billing.events for /kpi/payments, /kpi/fulfilment, /kpi/products and /kpi/clients:
products, invoices (with what they derive from their payments and documents) and their lines, payment plans and
their instalments, payments and their allocations, delivered shipments and signed acts and their lines. Each KPI
reads the rows of its period through an index on its date (covering where the rows are many), and the
invoices owing something now, or paid and not fully shipped, through partial indexes.
"""
import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

INVOICE_COVER = ['status', 'owner_id', 'currency', 'total_amount']
OPEN_INVOICE_COVER = ['owner_id', 'currency', 'due_on', 'total_amount', 'paid_amount']
UNSHIPPED_COVER = ['owner_id', 'currency', 'total_amount', 'shipped_amount']
PAID_INVOICE_COVER = ['owner_id', 'client_id', 'currency', 'total_amount', 'due_on']
ISSUED_STATUSES = "status IN ('issued', 'partially_paid', 'paid')"
OPEN_STATUSES = "status IN ('issued', 'partially_paid')"


def _time(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table('products',
                    sa.Column('product_id', sa.UUID(), nullable=False),
                    sa.Column('sku', sa.String(length=64), nullable=True),
                    sa.Column('name', sa.String(length=300), nullable=True),
                    sa.Column('kind', sa.String(length=7), nullable=True),
                    _time('last_event_time'),
                    sa.PrimaryKeyConstraint('product_id', name=op.f('pk_products')))
    op.create_table('invoices',
                    sa.Column('invoice_id', sa.UUID(), nullable=False),
                    sa.Column('number', sa.String(length=20), nullable=True),
                    sa.Column('status', sa.String(length=14), nullable=False),
                    sa.Column('client_id', sa.UUID(), nullable=True),
                    sa.Column('deal_id', sa.UUID(), nullable=True),
                    sa.Column('owner_id', sa.UUID(), nullable=True),
                    sa.Column('currency', sa.String(length=3), nullable=False),
                    sa.Column('issued_on', sa.Date(), nullable=True),
                    sa.Column('due_on', sa.Date(), nullable=True),
                    sa.Column('total_amount', sa.Numeric(precision=14, scale=2), nullable=False),
                    sa.Column('paid_amount', sa.Numeric(precision=14, scale=2), nullable=False),
                    _time('last_event_time'),
                    sa.Column('last_paid_on', sa.Date(), nullable=True),
                    sa.Column('shipped_amount', sa.Numeric(precision=14, scale=2), server_default=sa.text('0'),
                              nullable=False),
                    sa.Column('fully_shipped', sa.Boolean(), server_default=sa.text('false'), nullable=False),
                    sa.Column('has_plan', sa.Boolean(), server_default=sa.text('false'), nullable=False),
                    sa.PrimaryKeyConstraint('invoice_id', name=op.f('pk_invoices')))
    op.create_index('ix_invoices_issued', 'invoices', ['issued_on'], unique=False, postgresql_include=INVOICE_COVER,
                    postgresql_where=sa.text('issued_on IS NOT NULL'))
    op.create_index('ix_invoices_due_unplanned', 'invoices', ['due_on'], unique=False, postgresql_include=INVOICE_COVER,
                    postgresql_where=sa.text(f'{ISSUED_STATUSES} AND NOT has_plan'))
    op.create_index('ix_invoices_open', 'invoices', ['issued_on'], unique=False, postgresql_include=OPEN_INVOICE_COVER,
                    postgresql_where=sa.text(OPEN_STATUSES))
    op.create_index('ix_invoices_paid', 'invoices', ['last_paid_on'], unique=False,
                    postgresql_include=PAID_INVOICE_COVER, postgresql_where=sa.text("status = 'paid'"))
    op.create_index('ix_invoices_shipped_unpaid', 'invoices', ['invoice_id'], unique=False,
                    postgresql_include=OPEN_INVOICE_COVER,
                    postgresql_where=sa.text(f'{OPEN_STATUSES} AND shipped_amount > 0'))
    op.create_index('ix_invoices_paid_unshipped', 'invoices', ['invoice_id'], unique=False,
                    postgresql_include=UNSHIPPED_COVER,
                    postgresql_where=sa.text("status = 'paid' AND NOT fully_shipped"))
    op.create_index('ix_invoices_client', 'invoices', ['client_id'], unique=False)
    op.create_index('ix_invoices_deal', 'invoices', ['deal_id'], unique=False,
                    postgresql_where=sa.text('deal_id IS NOT NULL'))
    op.create_table('invoice_lines',
                    sa.Column('line_id', sa.UUID(), nullable=False),
                    sa.Column('invoice_id', sa.UUID(), nullable=False),
                    sa.Column('product_id', sa.UUID(), nullable=True),
                    sa.Column('quantity', sa.Numeric(precision=14, scale=3), nullable=False),
                    sa.Column('amount', sa.Numeric(precision=14, scale=2), nullable=False),
                    sa.PrimaryKeyConstraint('line_id', name=op.f('pk_invoice_lines')))
    op.create_index('ix_invoice_lines_invoice', 'invoice_lines', ['invoice_id'], unique=False,
                    postgresql_include=['product_id', 'quantity', 'amount'])
    op.create_table('payment_plans',
                    sa.Column('invoice_id', sa.UUID(), nullable=False),
                    _time('last_event_time'),
                    sa.PrimaryKeyConstraint('invoice_id', name=op.f('pk_payment_plans')))
    op.create_table('planned_payments',
                    sa.Column('invoice_id', sa.UUID(), nullable=False),
                    sa.Column('due_on', sa.Date(), nullable=False),
                    sa.Column('amount', sa.Numeric(precision=14, scale=2), nullable=False),
                    sa.PrimaryKeyConstraint('invoice_id', 'due_on', name=op.f('pk_planned_payments')))
    op.create_index('ix_planned_payments_due', 'planned_payments', ['due_on'], unique=False,
                    postgresql_include=['invoice_id', 'amount'])
    op.create_table('payments',
                    sa.Column('payment_id', sa.UUID(), nullable=False),
                    sa.Column('client_id', sa.UUID(), nullable=True),
                    sa.Column('owner_id', sa.UUID(), nullable=True),
                    sa.Column('amount', sa.Numeric(precision=14, scale=2), nullable=False),
                    sa.Column('currency', sa.String(length=3), nullable=False),
                    sa.Column('paid_on', sa.Date(), nullable=False),
                    sa.Column('status', sa.String(length=8), nullable=False),
                    _time('last_event_time'),
                    sa.PrimaryKeyConstraint('payment_id', name=op.f('pk_payments')))
    op.create_index('ix_payments_paid_on', 'payments', ['paid_on'], unique=False,
                    postgresql_include=['status', 'client_id', 'owner_id', 'currency', 'amount'])
    op.create_index('ix_payments_client', 'payments', ['client_id'], unique=False)
    op.create_table('payment_allocations',
                    sa.Column('payment_id', sa.UUID(), nullable=False),
                    sa.Column('invoice_id', sa.UUID(), nullable=False),
                    sa.Column('amount', sa.Numeric(precision=14, scale=2), nullable=False),
                    sa.Column('paid_on', sa.Date(), nullable=False),
                    sa.Column('reversed', sa.Boolean(), nullable=False),
                    sa.PrimaryKeyConstraint('payment_id', 'invoice_id', name=op.f('pk_payment_allocations')))
    op.create_index('ix_payment_allocations_invoice', 'payment_allocations', ['invoice_id'], unique=False,
                    postgresql_include=['paid_on', 'amount', 'reversed'])
    op.create_table('deliveries',
                    sa.Column('document_id', sa.UUID(), nullable=False),
                    sa.Column('kind', sa.String(length=11), nullable=False),
                    sa.Column('invoice_id', sa.UUID(), nullable=False),
                    sa.Column('client_id', sa.UUID(), nullable=True),
                    sa.Column('owner_id', sa.UUID(), nullable=True),
                    sa.Column('done_on', sa.Date(), nullable=False),
                    sa.Column('currency', sa.String(length=3), nullable=False),
                    sa.Column('total_amount', sa.Numeric(precision=14, scale=2), nullable=False),
                    _time('last_event_time'),
                    sa.PrimaryKeyConstraint('document_id', name=op.f('pk_deliveries')))
    op.create_index('ix_deliveries_done', 'deliveries', ['done_on'], unique=False,
                    postgresql_include=['kind', 'owner_id', 'currency', 'total_amount'])
    op.create_index('ix_deliveries_invoice', 'deliveries', ['invoice_id'], unique=False,
                    postgresql_include=['total_amount'])
    op.create_index('ix_deliveries_client', 'deliveries', ['client_id'], unique=False)
    op.create_table('delivery_lines',
                    sa.Column('document_id', sa.UUID(), nullable=False),
                    sa.Column('n', sa.SmallInteger(), nullable=False),
                    sa.Column('invoice_line_id', sa.UUID(), nullable=False),
                    sa.Column('quantity', sa.Numeric(precision=14, scale=3), nullable=False),
                    sa.Column('amount', sa.Numeric(precision=14, scale=2), nullable=False),
                    sa.PrimaryKeyConstraint('document_id', 'n', name=op.f('pk_delivery_lines')))
    op.create_index('ix_delivery_lines_invoice_line', 'delivery_lines', ['invoice_line_id'], unique=False,
                    postgresql_include=['quantity'])


def downgrade() -> None:
    for table in ('delivery_lines', 'deliveries', 'payment_allocations', 'payments', 'planned_payments',
                  'payment_plans', 'invoice_lines', 'invoices', 'products'):
        op.drop_table(table)
