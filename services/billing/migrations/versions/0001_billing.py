"""price list, invoices, shipments and acts, payments, statements, printed forms, projections, kit tables

Revision ID: 0001
Revises: 
Create Date: 2026-12-02 14:41:51.880085
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from glassbox.migrations import create_kit_tables, drop_kit_tables

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('bank_statements',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('account', sa.String(length=20), nullable=True),
    sa.Column('date_from', sa.Date(), nullable=True),
    sa.Column('date_to', sa.Date(), nullable=True),
    sa.Column('documents', sa.Integer(), nullable=False),
    sa.Column('matched', sa.Integer(), nullable=False),
    sa.Column('unmatched', sa.Integer(), nullable=False),
    sa.Column('created_by', sa.UUID(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bank_statements')),
    sa.UniqueConstraint('sha256', name='uq_bank_statements_sha256')
    )
    op.create_index('ix_bank_statements_created', 'bank_statements', ['created_at', 'id'], unique=False)
    op.create_table('clients',
    sa.Column('client_id', sa.UUID(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=True),
    sa.Column('kind', sa.String(length=20), nullable=True),
    sa.Column('tax_id', sa.String(length=20), nullable=True),
    sa.Column('address', sa.String(length=500), nullable=True),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('owner_id', sa.UUID(), nullable=True),
    sa.Column('archived_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('last_event_time', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('client_id', name=op.f('pk_clients'))
    )
    op.create_index('ix_clients_owner', 'clients', ['owner_id'], unique=False)
    op.create_index('ix_clients_tax_id', 'clients', ['tax_id'], unique=False)
    op.create_table('deals',
    sa.Column('deal_id', sa.UUID(), nullable=False),
    sa.Column('client_id', sa.UUID(), nullable=True),
    sa.Column('owner_id', sa.UUID(), nullable=True),
    sa.Column('title', sa.String(length=200), nullable=True),
    sa.Column('status', sa.String(length=4), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('last_event_time', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('deal_id', name=op.f('pk_deals'))
    )
    op.create_table('document_numbers',
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('year', sa.SmallInteger(), nullable=False),
    sa.Column('last_number', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('kind', 'year', name=op.f('pk_document_numbers'))
    )
    op.create_table('invoices',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('number', sa.String(length=20), nullable=True),
    sa.Column('status', sa.String(length=14), nullable=False),
    sa.Column('client_id', sa.UUID(), nullable=False),
    sa.Column('deal_id', sa.UUID(), nullable=True),
    sa.Column('owner_id', sa.UUID(), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('issued_on', sa.Date(), nullable=True),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.Column('net_amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('vat_amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('total_amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('paid_amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('buyer', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('seller', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('cancel_reason', sa.Text(), nullable=True),
    sa.Column('created_by', sa.UUID(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('paid_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('overdue_announced_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status = 'cancelled' OR (status = 'draft') = (number IS NULL)", name=op.f('ck_invoices_numbered_when_issued')),
    sa.CheckConstraint("currency ~ '^[A-Z]{3}$'", name=op.f('ck_invoices_currency')),
    sa.CheckConstraint("status IN ('draft', 'issued', 'partially_paid', 'paid', 'cancelled')", name=op.f('ck_invoices_status')),
    sa.CheckConstraint('paid_amount >= 0 AND paid_amount <= total_amount', name=op.f('ck_invoices_paid_amount')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invoices')),
    sa.UniqueConstraint('number', name='uq_invoices_number')
    )
    op.create_index('ix_invoices_client_created', 'invoices', ['client_id', 'created_at', 'id'], unique=False)
    op.create_index('ix_invoices_created', 'invoices', ['created_at', 'id'], unique=False)
    op.create_index('ix_invoices_deal', 'invoices', ['deal_id'], unique=False)
    op.create_index('ix_invoices_open_due', 'invoices', ['due_on'], unique=False, postgresql_where=sa.text("status IN ('issued', 'partially_paid')"), postgresql_include=['client_id', 'owner_id', 'currency', 'total_amount', 'paid_amount'])
    op.create_index('ix_invoices_owner_created', 'invoices', ['owner_id', 'created_at', 'id'], unique=False)
    op.create_index('ix_invoices_status_created', 'invoices', ['status', 'created_at', 'id'], unique=False)
    op.create_table('printed_forms',
    sa.Column('kind', sa.String(length=11), nullable=False),
    sa.Column('record_id', sa.UUID(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=False),
    sa.Column('rendered_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('kind', 'record_id', name=op.f('pk_printed_forms'))
    )
    op.create_table('products',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('sku', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=300), nullable=False),
    sa.Column('kind', sa.String(length=7), nullable=False),
    sa.Column('unit_name', sa.String(length=20), nullable=False),
    sa.Column('unit_code', sa.String(length=3), nullable=True),
    sa.Column('price_amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('price_currency', sa.String(length=3), nullable=False),
    sa.Column('vat_rate', sa.String(length=4), nullable=False),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("kind IN ('goods', 'service')", name=op.f('ck_products_kind')),
    sa.CheckConstraint("vat_rate IN ('20', '10', '0', 'none')", name=op.f('ck_products_vat_rate')),
    sa.CheckConstraint('price_amount >= 0', name=op.f('ck_products_price_amount')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_products'))
    )
    op.create_index('ix_products_name', 'products', ['name', 'id'], unique=False)
    op.create_index('uq_products_sku', 'products', [sa.literal_column('lower(sku)')], unique=True)
    op.create_table('seller_requisites',
    sa.Column('id', sa.SmallInteger(), nullable=False),
    sa.Column('legal_name', sa.String(length=300), nullable=False),
    sa.Column('inn', sa.String(length=12), nullable=False),
    sa.Column('kpp', sa.String(length=9), nullable=True),
    sa.Column('ogrn', sa.String(length=15), nullable=True),
    sa.Column('address', sa.String(length=500), nullable=False),
    sa.Column('bank_name', sa.String(length=300), nullable=False),
    sa.Column('bik', sa.String(length=9), nullable=False),
    sa.Column('correspondent_account', sa.String(length=20), nullable=False),
    sa.Column('settlement_account', sa.String(length=20), nullable=False),
    sa.Column('director', sa.String(length=200), nullable=False),
    sa.Column('chief_accountant', sa.String(length=200), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint('id = 1', name=op.f('ck_seller_requisites_single_row')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_seller_requisites'))
    )
    op.create_table('users',
    sa.Column('user_id', sa.UUID(), nullable=False),
    sa.Column('full_name', sa.String(length=200), nullable=True),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('role', sa.String(length=30), nullable=False),
    sa.Column('team_id', sa.UUID(), nullable=True),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('last_event_time', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_users'))
    )
    op.create_table('deliveries',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('kind', sa.String(length=11), nullable=False),
    sa.Column('number', sa.String(length=20), nullable=False),
    sa.Column('invoice_id', sa.UUID(), nullable=False),
    sa.Column('client_id', sa.UUID(), nullable=False),
    sa.Column('owner_id', sa.UUID(), nullable=True),
    sa.Column('status', sa.String(length=9), nullable=False),
    sa.Column('issued_on', sa.Date(), nullable=False),
    sa.Column('done_on', sa.Date(), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('net_amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('vat_amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('total_amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('created_by', sa.UUID(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("(status = 'done') = (done_on IS NOT NULL)", name=op.f('ck_deliveries_done_on')),
    sa.CheckConstraint("kind IN ('shipment', 'service_act')", name=op.f('ck_deliveries_kind')),
    sa.CheckConstraint("status IN ('issued', 'done', 'cancelled')", name=op.f('ck_deliveries_status')),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoices.id'], name=op.f('fk_deliveries_invoice_id')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_deliveries')),
    sa.UniqueConstraint('number', name='uq_deliveries_number')
    )
    op.create_index('ix_deliveries_invoice', 'deliveries', ['invoice_id'], unique=False)
    op.create_index('ix_deliveries_kind_created', 'deliveries', ['kind', 'created_at', 'id'], unique=False)
    op.create_index('ix_deliveries_owner_kind_created', 'deliveries', ['owner_id', 'kind', 'created_at', 'id'], unique=False)
    op.create_table('invoice_lines',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('invoice_id', sa.UUID(), nullable=False),
    sa.Column('position', sa.SmallInteger(), nullable=False),
    sa.Column('product_id', sa.UUID(), nullable=True),
    sa.Column('kind', sa.String(length=7), nullable=False),
    sa.Column('description', sa.String(length=500), nullable=False),
    sa.Column('unit_name', sa.String(length=20), nullable=False),
    sa.Column('unit_code', sa.String(length=3), nullable=True),
    sa.Column('quantity', sa.Numeric(precision=14, scale=3), nullable=False),
    sa.Column('unit_price', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('discount_percent', sa.Numeric(precision=5, scale=2), nullable=False),
    sa.Column('vat_rate', sa.String(length=4), nullable=False),
    sa.Column('discount_amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('net_amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('vat_amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.CheckConstraint("kind IN ('goods', 'service')", name=op.f('ck_invoice_lines_kind')),
    sa.CheckConstraint("vat_rate IN ('20', '10', '0', 'none')", name=op.f('ck_invoice_lines_vat_rate')),
    sa.CheckConstraint('discount_percent BETWEEN 0 AND 100', name=op.f('ck_invoice_lines_discount_percent')),
    sa.CheckConstraint('quantity > 0', name=op.f('ck_invoice_lines_quantity')),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoices.id'], name=op.f('fk_invoice_lines_invoice_id'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_invoice_lines_product_id')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invoice_lines')),
    sa.UniqueConstraint('invoice_id', 'position', name='uq_invoice_lines_position')
    )
    op.create_table('payments',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('client_id', sa.UUID(), nullable=False),
    sa.Column('owner_id', sa.UUID(), nullable=True),
    sa.Column('amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('paid_on', sa.Date(), nullable=False),
    sa.Column('method', sa.String(length=13), nullable=False),
    sa.Column('payer_name', sa.String(length=300), nullable=True),
    sa.Column('payer_inn', sa.String(length=12), nullable=True),
    sa.Column('reference', sa.String(length=500), nullable=True),
    sa.Column('status', sa.String(length=8), nullable=False),
    sa.Column('allocated_amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('bank_document_key', sa.String(length=200), nullable=True),
    sa.Column('statement_id', sa.UUID(), nullable=True),
    sa.Column('reversal_reason', sa.Text(), nullable=True),
    sa.Column('created_by', sa.UUID(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reversed_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("(status = 'reversed') = (reversed_at IS NOT NULL)", name=op.f('ck_payments_reversed_at')),
    sa.CheckConstraint("method IN ('bank_transfer', 'cash', 'card', 'other')", name=op.f('ck_payments_method')),
    sa.CheckConstraint("status IN ('recorded', 'reversed')", name=op.f('ck_payments_status')),
    sa.CheckConstraint('allocated_amount >= 0 AND allocated_amount <= amount', name=op.f('ck_payments_allocated_amount')),
    sa.CheckConstraint('amount > 0', name=op.f('ck_payments_amount')),
    sa.ForeignKeyConstraint(['statement_id'], ['bank_statements.id'], name=op.f('fk_payments_statement_id')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payments')),
    sa.UniqueConstraint('bank_document_key', name='uq_payments_bank_document_key')
    )
    op.create_index('ix_payments_client_created', 'payments', ['client_id', 'created_at', 'id'], unique=False)
    op.create_index('ix_payments_created', 'payments', ['created_at', 'id'], unique=False)
    op.create_index('ix_payments_owner_created', 'payments', ['owner_id', 'created_at', 'id'], unique=False)
    op.create_index('ix_payments_paid_on', 'payments', ['paid_on'], unique=False)
    op.create_table('planned_payments',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('invoice_id', sa.UUID(), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('missed_announced_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint('amount > 0', name=op.f('ck_planned_payments_amount')),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoices.id'], name=op.f('fk_planned_payments_invoice_id'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_planned_payments')),
    sa.UniqueConstraint('invoice_id', 'due_on', name='uq_planned_payments_due_on')
    )
    op.create_index('ix_planned_payments_due', 'planned_payments', ['due_on'], unique=False, postgresql_where=sa.text('missed_announced_at IS NULL'))
    op.create_table('bank_statement_lines',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('statement_id', sa.UUID(), nullable=False),
    sa.Column('line', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=20), nullable=True),
    sa.Column('paid_on', sa.Date(), nullable=False),
    sa.Column('amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('payer_name', sa.String(length=300), nullable=True),
    sa.Column('payer_inn', sa.String(length=12), nullable=True),
    sa.Column('payer_account', sa.String(length=20), nullable=True),
    sa.Column('purpose', sa.Text(), nullable=True),
    sa.Column('bank_document_key', sa.String(length=200), nullable=False),
    sa.Column('status', sa.String(length=9), nullable=False),
    sa.Column('payment_id', sa.UUID(), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.CheckConstraint("status IN ('matched', 'unmatched', 'manual', 'outgoing', 'known')", name=op.f('ck_bank_statement_lines_status')),
    sa.ForeignKeyConstraint(['payment_id'], ['payments.id'], name=op.f('fk_bank_statement_lines_payment_id')),
    sa.ForeignKeyConstraint(['statement_id'], ['bank_statements.id'], name=op.f('fk_bank_statement_lines_statement_id'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bank_statement_lines'))
    )
    op.create_index('ix_bank_statement_lines_statement', 'bank_statement_lines', ['statement_id', 'id'], unique=False)
    op.create_table('delivery_lines',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('delivery_id', sa.UUID(), nullable=False),
    sa.Column('invoice_line_id', sa.UUID(), nullable=False),
    sa.Column('position', sa.SmallInteger(), nullable=False),
    sa.Column('quantity', sa.Numeric(precision=14, scale=3), nullable=False),
    sa.Column('net_amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('vat_amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.CheckConstraint('quantity > 0', name=op.f('ck_delivery_lines_quantity')),
    sa.ForeignKeyConstraint(['delivery_id'], ['deliveries.id'], name=op.f('fk_delivery_lines_delivery_id'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['invoice_line_id'], ['invoice_lines.id'], name=op.f('fk_delivery_lines_invoice_line_id')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_delivery_lines'))
    )
    op.create_index('ix_delivery_lines_invoice_line', 'delivery_lines', ['invoice_line_id'], unique=False)
    op.create_table('payment_allocations',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('payment_id', sa.UUID(), nullable=False),
    sa.Column('invoice_id', sa.UUID(), nullable=False),
    sa.Column('amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('amount > 0', name=op.f('ck_payment_allocations_amount')),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoices.id'], name=op.f('fk_payment_allocations_invoice_id')),
    sa.ForeignKeyConstraint(['payment_id'], ['payments.id'], name=op.f('fk_payment_allocations_payment_id'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payment_allocations')),
    sa.UniqueConstraint('payment_id', 'invoice_id', name='uq_payment_allocations_invoice')
    )
    op.create_index('ix_payment_allocations_invoice', 'payment_allocations', ['invoice_id'], unique=False)
    op.create_index('ix_payments_credit', 'payments', ['client_id'], unique=False, postgresql_where=sa.text("status = 'recorded' AND allocated_amount < amount"))
    create_kit_tables()


def downgrade() -> None:
    drop_kit_tables()
    op.drop_index('ix_payment_allocations_invoice', table_name='payment_allocations')
    op.drop_table('payment_allocations')
    op.drop_index('ix_delivery_lines_invoice_line', table_name='delivery_lines')
    op.drop_table('delivery_lines')
    op.drop_index('ix_bank_statement_lines_statement', table_name='bank_statement_lines')
    op.drop_table('bank_statement_lines')
    op.drop_index('ix_planned_payments_due', table_name='planned_payments', postgresql_where=sa.text('missed_announced_at IS NULL'))
    op.drop_table('planned_payments')
    op.drop_index('ix_payments_credit', table_name='payments')
    op.drop_index('ix_payments_paid_on', table_name='payments')
    op.drop_index('ix_payments_owner_created', table_name='payments')
    op.drop_index('ix_payments_created', table_name='payments')
    op.drop_index('ix_payments_client_created', table_name='payments')
    op.drop_table('payments')
    op.drop_table('invoice_lines')
    op.drop_index('ix_deliveries_owner_kind_created', table_name='deliveries')
    op.drop_index('ix_deliveries_kind_created', table_name='deliveries')
    op.drop_index('ix_deliveries_invoice', table_name='deliveries')
    op.drop_table('deliveries')
    op.drop_table('users')
    op.drop_table('seller_requisites')
    op.drop_index('uq_products_sku', table_name='products')
    op.drop_index('ix_products_name', table_name='products')
    op.drop_table('products')
    op.drop_table('printed_forms')
    op.drop_index('ix_invoices_status_created', table_name='invoices')
    op.drop_index('ix_invoices_owner_created', table_name='invoices')
    op.drop_index('ix_invoices_open_due', table_name='invoices', postgresql_where=sa.text("status IN ('issued', 'partially_paid')"), postgresql_include=['client_id', 'owner_id', 'currency', 'total_amount', 'paid_amount'])
    op.drop_index('ix_invoices_deal', table_name='invoices')
    op.drop_index('ix_invoices_created', table_name='invoices')
    op.drop_index('ix_invoices_client_created', table_name='invoices')
    op.drop_table('invoices')
    op.drop_table('document_numbers')
    op.drop_table('deals')
    op.drop_index('ix_clients_tax_id', table_name='clients')
    op.drop_index('ix_clients_owner', table_name='clients')
    op.drop_table('clients')
    op.drop_index('ix_bank_statements_created', table_name='bank_statements')
    op.drop_table('bank_statements')
