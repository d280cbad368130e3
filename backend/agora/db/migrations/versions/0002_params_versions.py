"""parameter versions; jobs' parameter version and windows; providers' lapsed matches

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 09:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

import agora.db.base

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('params_versions',
    sa.Column('version', sa.String(length=16), nullable=False),
    sa.Column('challenge_window_seconds', sa.BigInteger(), nullable=False),
    sa.Column('arbitration_window_seconds', sa.BigInteger(), nullable=False),
    sa.Column('collateral_ratio_bps', sa.Integer(), nullable=False),
    sa.Column('min_job_collateral', agora.db.base.Uint256(length=78), nullable=False),
    sa.Column('missed_deadline_slash_bps', sa.Integer(), nullable=False),
    sa.Column('fault_slash_bps', sa.Integer(), nullable=False),
    sa.Column('buyer_share_bps', sa.Integer(), nullable=False),
    sa.Column('reporter_share_bps', sa.Integer(), nullable=False),
    sa.Column('protocol_fee_bps', sa.Integer(), nullable=False),
    sa.Column('matchmaker_fee_bps', sa.Integer(), nullable=False),
    sa.Column('dispute_bond', agora.db.base.Uint256(length=78), nullable=False),
    sa.Column('block_number', sa.BigInteger(), nullable=False),
    sa.Column('block_time', sa.BigInteger(), nullable=True),
    sa.Column('tx_hash', agora.db.base.HexString(length=66), nullable=False),
    sa.PrimaryKeyConstraint('version', name=op.f('pk_params_versions'))
    )
    with op.batch_alter_table('params_versions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_params_versions_block_number'), ['block_number'], unique=False)

    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('params_version', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('challenge_window_seconds', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('challenge_deadline', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('arbitration_deadline', sa.BigInteger(), nullable=True))

    # Rows indexed before this revision count no lapsed matches (the old contracts had none).
    with op.batch_alter_table('providers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('lapsed_matches', sa.Integer(), nullable=False, server_default='0'))


def downgrade() -> None:
    with op.batch_alter_table('providers', schema=None) as batch_op:
        batch_op.drop_column('lapsed_matches')

    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.drop_column('arbitration_deadline')
        batch_op.drop_column('challenge_deadline')
        batch_op.drop_column('challenge_window_seconds')
        batch_op.drop_column('params_version')

    with op.batch_alter_table('params_versions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_params_versions_block_number'))

    op.drop_table('params_versions')
