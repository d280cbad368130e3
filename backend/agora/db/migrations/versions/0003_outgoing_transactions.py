"""the transaction sender's wallets, outgoing transactions and their hashes

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 10:30:00.000000
"""

import sqlalchemy as sa
from alembic import op

import agora.db.base

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('sender_wallets',
    sa.Column('address', agora.db.base.HexString(length=42), nullable=False),
    sa.Column('chain_id', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('address', 'chain_id', name=op.f('pk_sender_wallets'))
    )
    op.create_table('outgoing_transactions',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('address', agora.db.base.HexString(length=42), nullable=False),
    sa.Column('chain_id', sa.BigInteger(), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('nonce', sa.BigInteger(), nullable=False),
    sa.Column('to', agora.db.base.HexString(length=42), nullable=False),
    sa.Column('data', sa.Text(), nullable=False),
    sa.Column('value', agora.db.base.Uint256(length=78), nullable=False),
    sa.Column('gas', sa.BigInteger(), nullable=False),
    sa.Column('max_fee', agora.db.base.Uint256(length=78), nullable=False),
    sa.Column('priority_fee', agora.db.base.Uint256(length=78), nullable=False),
    sa.Column('tx_hash', agora.db.base.HexString(length=66), nullable=False),
    sa.Column('raw', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('broadcast', sa.Boolean(), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('replacements', sa.Integer(), nullable=False),
    sa.Column('mined_hash', agora.db.base.HexString(length=66), nullable=True),
    sa.Column('block_number', sa.BigInteger(), nullable=True),
    sa.Column('gas_used', sa.BigInteger(), nullable=True),
    sa.Column('revert_data', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outgoing_transactions'))
    )
    with op.batch_alter_table('outgoing_transactions', schema=None) as batch_op:
        batch_op.create_index('ix_outgoing_transactions_wallet_key', ['address', 'chain_id', 'key'], unique=False)
        batch_op.create_index('ix_outgoing_transactions_wallet_nonce', ['address', 'chain_id', 'nonce'], unique=False)
        batch_op.create_index('ix_outgoing_transactions_wallet_status', ['address', 'chain_id', 'status'], unique=False)

    op.create_table('outgoing_transaction_hashes',
    sa.Column('tx_hash', agora.db.base.HexString(length=66), nullable=False),
    sa.Column('transaction_id', sa.Integer(), nullable=False),
    sa.Column('max_fee', agora.db.base.Uint256(length=78), nullable=False),
    sa.Column('priority_fee', agora.db.base.Uint256(length=78), nullable=False),
    sa.ForeignKeyConstraint(['transaction_id'], ['outgoing_transactions.id'], name=op.f('fk_outgoing_transaction_hashes_transaction_id_outgoing_transactions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tx_hash', name=op.f('pk_outgoing_transaction_hashes'))
    )
    with op.batch_alter_table('outgoing_transaction_hashes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_outgoing_transaction_hashes_transaction_id'), ['transaction_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('outgoing_transaction_hashes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outgoing_transaction_hashes_transaction_id'))

    op.drop_table('outgoing_transaction_hashes')
    with op.batch_alter_table('outgoing_transactions', schema=None) as batch_op:
        batch_op.drop_index('ix_outgoing_transactions_wallet_status')
        batch_op.drop_index('ix_outgoing_transactions_wallet_nonce')
        batch_op.drop_index('ix_outgoing_transactions_wallet_key')

    op.drop_table('outgoing_transactions')
    op.drop_table('sender_wallets')
