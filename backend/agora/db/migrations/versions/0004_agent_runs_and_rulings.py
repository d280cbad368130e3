"""provider agent runs and arbiter rulings

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03 09:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

import agora.db.base

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('agent_runs',
    sa.Column('job_id', agora.db.base.HexString(length=66), nullable=False),
    sa.Column('attempt', sa.Integer(), nullable=False),
    sa.Column('provider', agora.db.base.HexString(length=42), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('outcome', sa.String(length=24), nullable=True),
    sa.Column('result_hash', agora.db.base.HexString(length=66), nullable=True),
    sa.Column('fuel_used', sa.BigInteger(), nullable=True),
    sa.Column('wall_seconds', sa.Double(), nullable=True),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('job_id', 'attempt', name=op.f('pk_agent_runs'))
    )
    with op.batch_alter_table('agent_runs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_agent_runs_provider'), ['provider'], unique=False)

    op.create_table('arbiter_rulings',
    sa.Column('job_id', agora.db.base.HexString(length=66), nullable=False),
    sa.Column('provider', agora.db.base.HexString(length=42), nullable=False),
    sa.Column('provider_at_fault', sa.Boolean(), nullable=False),
    sa.Column('submitted_hash', agora.db.base.HexString(length=66), nullable=False),
    sa.Column('rerun_hash', agora.db.base.HexString(length=66), nullable=True),
    sa.Column('rerun_outcome', sa.String(length=24), nullable=False),
    sa.Column('evidence', sa.JSON(), nullable=False),
    sa.Column('ruled_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.PrimaryKeyConstraint('job_id', name=op.f('pk_arbiter_rulings'))
    )
    with op.batch_alter_table('arbiter_rulings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_arbiter_rulings_provider'), ['provider'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('arbiter_rulings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_arbiter_rulings_provider'))

    op.drop_table('arbiter_rulings')
    with op.batch_alter_table('agent_runs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_agent_runs_provider'))

    op.drop_table('agent_runs')
