"""client cards and contacts, kit tables

Revision ID: 0001
Revises: 
Create Date: 2026-11-27 20:48:50.864269
"""
from alembic import op
import sqlalchemy as sa

from glassbox.migrations import create_kit_tables, drop_kit_tables

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('clients',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('tax_id', sa.String(length=20), nullable=True),
    sa.Column('industry', sa.String(length=100), nullable=True),
    sa.Column('region', sa.String(length=100), nullable=True),
    sa.Column('address', sa.Text(), nullable=True),
    sa.Column('phone', sa.String(length=40), nullable=True),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('website', sa.String(length=300), nullable=True),
    sa.Column('source_channel', sa.String(length=50), nullable=True),
    sa.Column('campaign_id', sa.UUID(), nullable=True),
    sa.Column('rating', sa.String(length=1), nullable=True),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('owner_id', sa.UUID(), nullable=False),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('archived_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("kind IN ('company', 'person')", name=op.f('ck_clients_kind')),
    sa.CheckConstraint("rating IN ('A', 'B', 'C', 'D')", name=op.f('ck_clients_rating')),
    sa.CheckConstraint("status IN ('prospect', 'active', 'former')", name=op.f('ck_clients_status')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_clients'))
    )
    op.create_index('ix_clients_campaign', 'clients', ['campaign_id'], unique=False)
    op.create_index('ix_clients_created', 'clients', ['created_at', 'id'], unique=False)
    op.create_index('ix_clients_industry', 'clients', ['industry'], unique=False)
    op.create_index('ix_clients_name', 'clients', ['name', 'id'], unique=False)
    op.create_index('ix_clients_owner_created', 'clients', ['owner_id', 'created_at', 'id'], unique=False)
    op.create_index('ix_clients_owner_name', 'clients', ['owner_id', 'name', 'id'], unique=False)
    op.create_index('ix_clients_phone', 'clients', ['phone'], unique=False)
    op.create_index('ix_clients_region', 'clients', ['region'], unique=False)
    op.create_index('ix_clients_source_channel', 'clients', ['source_channel'], unique=False)
    op.create_index('ix_clients_status_rating', 'clients', ['status', 'rating'], unique=False)
    op.create_index('ix_clients_updated', 'clients', ['updated_at', 'id'], unique=False)
    op.create_index('uq_clients_email_live', 'clients', [sa.literal_column('lower(email)')], unique=True, postgresql_where=sa.text('archived_at IS NULL AND email IS NOT NULL'))
    op.create_index('uq_clients_tax_id_live', 'clients', ['tax_id'], unique=True, postgresql_where=sa.text('archived_at IS NULL AND tax_id IS NOT NULL'))
    op.create_table('contacts',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('client_id', sa.UUID(), nullable=False),
    sa.Column('full_name', sa.String(length=200), nullable=False),
    sa.Column('position', sa.String(length=200), nullable=True),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('phone', sa.String(length=40), nullable=True),
    sa.Column('is_primary', sa.Boolean(), nullable=False),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_contacts_client_id'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contacts'))
    )
    op.create_index(op.f('ix_contacts_client_id'), 'contacts', ['client_id'], unique=False)
    create_kit_tables()


def downgrade() -> None:
    drop_kit_tables()
    op.drop_index(op.f('ix_contacts_client_id'), table_name='contacts')
    op.drop_table('contacts')
    op.drop_index('uq_clients_tax_id_live', table_name='clients', postgresql_where=sa.text('archived_at IS NULL AND tax_id IS NOT NULL'))
    op.drop_index('uq_clients_email_live', table_name='clients', postgresql_where=sa.text('archived_at IS NULL AND email IS NOT NULL'))
    op.drop_index('ix_clients_updated', table_name='clients')
    op.drop_index('ix_clients_status_rating', table_name='clients')
    op.drop_index('ix_clients_source_channel', table_name='clients')
    op.drop_index('ix_clients_region', table_name='clients')
    op.drop_index('ix_clients_phone', table_name='clients')
    op.drop_index('ix_clients_owner_name', table_name='clients')
    op.drop_index('ix_clients_owner_created', table_name='clients')
    op.drop_index('ix_clients_name', table_name='clients')
    op.drop_index('ix_clients_industry', table_name='clients')
    op.drop_index('ix_clients_created', table_name='clients')
    op.drop_index('ix_clients_campaign', table_name='clients')
    op.drop_table('clients')
