"""indexer tables

Revision ID: 0001
Revises:
Create Date: 2026-11-25 21:55:18.999460
"""

import sqlalchemy as sa
from alembic import op

import agora.db.base

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table('events',
    sa.Column('block_hash', agora.db.base.HexString(length=66), nullable=False),
    sa.Column('log_index', sa.Integer(), nullable=False),
    sa.Column('block_number', sa.BigInteger(), nullable=False),
    sa.Column('block_time', sa.BigInteger(), nullable=True),
    sa.Column('tx_hash', agora.db.base.HexString(length=66), nullable=False),
    sa.Column('contract', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=48), nullable=False),
    sa.Column('args', sa.JSON(), nullable=False),
    sa.Column('job_id', agora.db.base.HexString(length=66), nullable=True),
    sa.Column('provider', agora.db.base.HexString(length=42), nullable=True),
    sa.Column('account', agora.db.base.HexString(length=42), nullable=True),
    sa.PrimaryKeyConstraint('block_hash', 'log_index', name=op.f('pk_events'))
    )
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.create_index('ix_events_block_number', ['block_number'], unique=False, postgresql_using='brin')
        for column in ('job_id', 'provider', 'account'):
            batch_op.create_index(f'ix_events_{column}', [column], unique=False,
                                  postgresql_where=sa.text(f'{column} IS NOT NULL'),
                                  sqlite_where=sa.text(f'{column} IS NOT NULL'))

    op.create_table('indexed_batches',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('from_block', sa.BigInteger(), nullable=False),
    sa.Column('to_block', sa.BigInteger(), nullable=False),
    sa.Column('parent_hash', agora.db.base.HexString(length=66), nullable=False),
    sa.Column('to_hash', agora.db.base.HexString(length=66), nullable=False),
    sa.Column('event_count', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_indexed_batches'))
    )
    with op.batch_alter_table('indexed_batches', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_indexed_batches_to_block'), ['to_block'], unique=False)

    op.create_table('indexer_checkpoints',
    sa.Column('name', sa.String(length=32), nullable=False),
    sa.Column('chain_id', sa.BigInteger(), nullable=False),
    sa.Column('block_number', sa.BigInteger(), nullable=False),
    sa.Column('block_hash', agora.db.base.HexString(length=66), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_indexer_checkpoints'))
    )
    op.create_table('jobs',
    sa.Column('job_id', agora.db.base.HexString(length=66), nullable=False),
    sa.Column('buyer', agora.db.base.HexString(length=42), nullable=False),
    sa.Column('max_price', agora.db.base.Uint256(length=78), nullable=False),
    sa.Column('spec_hash', agora.db.base.HexString(length=66), nullable=False),
    sa.Column('duration_seconds', sa.BigInteger(), nullable=False),
    sa.Column('expires_at', sa.BigInteger(), nullable=False),
    sa.Column('salt', agora.db.base.Uint256(length=78), nullable=False),
    sa.Column('cpu_millicores', sa.BigInteger(), nullable=False),
    sa.Column('memory_mib', sa.BigInteger(), nullable=False),
    sa.Column('storage_gib', sa.BigInteger(), nullable=False),
    sa.Column('gpu_count', sa.Integer(), nullable=False),
    sa.Column('gpu_model', sa.String(length=16), nullable=False),
    sa.Column('region', sa.String(length=16), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('provider', agora.db.base.HexString(length=42), nullable=True),
    sa.Column('matchmaker', agora.db.base.HexString(length=42), nullable=True),
    sa.Column('price', agora.db.base.Uint256(length=78), nullable=True),
    sa.Column('collateral', agora.db.base.Uint256(length=78), nullable=True),
    sa.Column('deadline', sa.BigInteger(), nullable=True),
    sa.Column('result_hash', agora.db.base.HexString(length=66), nullable=True),
    sa.Column('dispute_bond', agora.db.base.Uint256(length=78), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('posted_block', sa.BigInteger(), nullable=False),
    sa.Column('posted_at', sa.BigInteger(), nullable=True),
    sa.Column('updated_block', sa.BigInteger(), nullable=False),
    sa.Column('terms', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('job_id', name=op.f('pk_jobs'))
    )
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_jobs_buyer'), ['buyer'], unique=False)
        batch_op.create_index(batch_op.f('ix_jobs_posted_block'), ['posted_block'], unique=False)
        batch_op.create_index(batch_op.f('ix_jobs_provider'), ['provider'], unique=False)
        batch_op.create_index(batch_op.f('ix_jobs_state'), ['state'], unique=False)

    op.create_table('parameter_changes',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('contract', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=48), nullable=False),
    sa.Column('old_value', sa.String(length=80), nullable=False),
    sa.Column('new_value', sa.String(length=80), nullable=False),
    sa.Column('block_number', sa.BigInteger(), nullable=False),
    sa.Column('log_index', sa.Integer(), nullable=False),
    sa.Column('tx_hash', agora.db.base.HexString(length=66), nullable=False),
    sa.Column('extra', sa.JSON(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_parameter_changes'))
    )
    with op.batch_alter_table('parameter_changes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_parameter_changes_block_number'), ['block_number'], unique=False)
        batch_op.create_index(batch_op.f('ix_parameter_changes_name'), ['name'], unique=False)

    op.create_table('payouts',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('account', agora.db.base.HexString(length=42), nullable=False),
    sa.Column('job_id', agora.db.base.HexString(length=66), nullable=True),
    sa.Column('kind', sa.String(length=24), nullable=False),
    sa.Column('amount', agora.db.base.Uint256(length=78), nullable=False),
    sa.Column('block_number', sa.BigInteger(), nullable=False),
    sa.Column('log_index', sa.Integer(), nullable=False),
    sa.Column('tx_hash', agora.db.base.HexString(length=66), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payouts'))
    )
    with op.batch_alter_table('payouts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_payouts_account'), ['account'], unique=False)
        batch_op.create_index('ix_payouts_block_number', ['block_number'], unique=False, postgresql_using='brin')
        batch_op.create_index(batch_op.f('ix_payouts_job_id'), ['job_id'], unique=False)

    op.create_table('proposals',
    sa.Column('proposal_id', sa.String(length=80), nullable=False),
    sa.Column('proposer', agora.db.base.HexString(length=42), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('actions', sa.JSON(), nullable=False),
    sa.Column('vote_start', sa.BigInteger(), nullable=False),
    sa.Column('vote_end', sa.BigInteger(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('eta', sa.BigInteger(), nullable=True),
    sa.Column('for_votes', agora.db.base.Uint256(length=78), nullable=False),
    sa.Column('against_votes', agora.db.base.Uint256(length=78), nullable=False),
    sa.Column('abstain_votes', agora.db.base.Uint256(length=78), nullable=False),
    sa.Column('created_block', sa.BigInteger(), nullable=False),
    sa.Column('updated_block', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('proposal_id', name=op.f('pk_proposals'))
    )
    with op.batch_alter_table('proposals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_proposals_proposer'), ['proposer'], unique=False)
        batch_op.create_index(batch_op.f('ix_proposals_status'), ['status'], unique=False)

    op.create_table('providers',
    sa.Column('address', agora.db.base.HexString(length=42), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('endpoint', sa.String(length=256), nullable=False),
    sa.Column('region', sa.String(length=16), nullable=False),
    sa.Column('gpu_model', sa.String(length=16), nullable=False),
    sa.Column('cpu_millicores', sa.BigInteger(), nullable=False),
    sa.Column('memory_mib', sa.BigInteger(), nullable=False),
    sa.Column('storage_gib', sa.BigInteger(), nullable=False),
    sa.Column('gpu_count', sa.Integer(), nullable=False),
    sa.Column('used_cpu_millicores', sa.BigInteger(), nullable=False),
    sa.Column('used_memory_mib', sa.BigInteger(), nullable=False),
    sa.Column('used_storage_gib', sa.BigInteger(), nullable=False),
    sa.Column('used_gpu_count', sa.Integer(), nullable=False),
    sa.Column('price_cpu_core_gwei', agora.db.base.Uint256(length=78), nullable=False),
    sa.Column('price_memory_gib_gwei', agora.db.base.Uint256(length=78), nullable=False),
    sa.Column('price_gpu_gwei', agora.db.base.Uint256(length=78), nullable=False),
    sa.Column('price_storage_gib_gwei', agora.db.base.Uint256(length=78), nullable=False),
    sa.Column('stake', agora.db.base.Uint256(length=78), nullable=False),
    sa.Column('locked_collateral', agora.db.base.Uint256(length=78), nullable=False),
    sa.Column('unbonding', agora.db.base.Uint256(length=78), nullable=False),
    sa.Column('unbonding_unlocks_at', sa.BigInteger(), nullable=False),
    sa.Column('completed_jobs', sa.Integer(), nullable=False),
    sa.Column('missed_deadlines', sa.Integer(), nullable=False),
    sa.Column('disputes_lost', sa.Integer(), nullable=False),
    sa.Column('total_slashed', agora.db.base.Uint256(length=78), nullable=False),
    sa.Column('registered_block', sa.BigInteger(), nullable=False),
    sa.Column('updated_block', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('address', name=op.f('pk_providers'))
    )
    with op.batch_alter_table('providers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_providers_region'), ['region'], unique=False)

    op.create_table('slashes',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('job_id', agora.db.base.HexString(length=66), nullable=False),
    sa.Column('provider', agora.db.base.HexString(length=42), nullable=False),
    sa.Column('reporter', agora.db.base.HexString(length=42), nullable=False),
    sa.Column('reason', sa.String(length=16), nullable=False),
    sa.Column('amount', agora.db.base.Uint256(length=78), nullable=False),
    sa.Column('buyer_share', agora.db.base.Uint256(length=78), nullable=False),
    sa.Column('reporter_share', agora.db.base.Uint256(length=78), nullable=False),
    sa.Column('treasury_share', agora.db.base.Uint256(length=78), nullable=False),
    sa.Column('new_state', sa.String(length=16), nullable=False),
    sa.Column('block_number', sa.BigInteger(), nullable=False),
    sa.Column('log_index', sa.Integer(), nullable=False),
    sa.Column('tx_hash', agora.db.base.HexString(length=66), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_slashes'))
    )
    with op.batch_alter_table('slashes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_slashes_block_number'), ['block_number'], unique=False)
        batch_op.create_index(batch_op.f('ix_slashes_job_id'), ['job_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_slashes_provider'), ['provider'], unique=False)

    op.create_table('votes',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('proposal_id', sa.String(length=80), nullable=False),
    sa.Column('voter', agora.db.base.HexString(length=42), nullable=False),
    sa.Column('support', sa.Integer(), nullable=False),
    sa.Column('weight', agora.db.base.Uint256(length=78), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('block_number', sa.BigInteger(), nullable=False),
    sa.Column('log_index', sa.Integer(), nullable=False),
    sa.Column('tx_hash', agora.db.base.HexString(length=66), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_votes'))
    )
    with op.batch_alter_table('votes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_votes_block_number'), ['block_number'], unique=False)
        batch_op.create_index(batch_op.f('ix_votes_proposal_id'), ['proposal_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_votes_voter'), ['voter'], unique=False)

    op.create_table('undo_entries',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=False),
    sa.Column('table_name', sa.String(length=32), nullable=False),
    sa.Column('row_key', sa.String(length=80), nullable=False),
    sa.Column('before', sa.JSON(), nullable=True),
    sa.ForeignKeyConstraint(['batch_id'], ['indexed_batches.id'], name=op.f('fk_undo_entries_batch_id_indexed_batches'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_undo_entries'))
    )
    with op.batch_alter_table('undo_entries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_undo_entries_batch_id'), ['batch_id'], unique=False)




def downgrade() -> None:

    with op.batch_alter_table('undo_entries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_undo_entries_batch_id'))

    op.drop_table('undo_entries')
    with op.batch_alter_table('votes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_votes_voter'))
        batch_op.drop_index(batch_op.f('ix_votes_proposal_id'))
        batch_op.drop_index(batch_op.f('ix_votes_block_number'))

    op.drop_table('votes')
    with op.batch_alter_table('slashes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_slashes_provider'))
        batch_op.drop_index(batch_op.f('ix_slashes_job_id'))
        batch_op.drop_index(batch_op.f('ix_slashes_block_number'))

    op.drop_table('slashes')
    with op.batch_alter_table('providers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_providers_region'))

    op.drop_table('providers')
    with op.batch_alter_table('proposals', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_proposals_status'))
        batch_op.drop_index(batch_op.f('ix_proposals_proposer'))

    op.drop_table('proposals')
    with op.batch_alter_table('payouts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_payouts_job_id'))
        batch_op.drop_index(batch_op.f('ix_payouts_block_number'))
        batch_op.drop_index(batch_op.f('ix_payouts_account'))

    op.drop_table('payouts')
    with op.batch_alter_table('parameter_changes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_parameter_changes_name'))
        batch_op.drop_index(batch_op.f('ix_parameter_changes_block_number'))

    op.drop_table('parameter_changes')
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_jobs_state'))
        batch_op.drop_index(batch_op.f('ix_jobs_provider'))
        batch_op.drop_index(batch_op.f('ix_jobs_posted_block'))
        batch_op.drop_index(batch_op.f('ix_jobs_buyer'))

    op.drop_table('jobs')
    op.drop_table('indexer_checkpoints')
    with op.batch_alter_table('indexed_batches', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_indexed_batches_to_block'))

    op.drop_table('indexed_batches')
    with op.batch_alter_table('events', schema=None) as batch_op:
        for column in ('provider', 'job_id', 'block_number', 'account'):
            batch_op.drop_index(f'ix_events_{column}')

    op.drop_table('events')

