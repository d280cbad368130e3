"""The Alembic migrations build exactly the schema the models declare, on both backends."""

from alembic import command
from sqlalchemy import create_engine, inspect

from agora.db.base import Base
from agora.db.migrate import alembic_config, upgrade


def test_MigrationsMatchTheModels(database_url):
    upgrade(database_url)
    command.check(alembic_config(database_url))  # raises if the models and the schema differ
    engine = create_engine(database_url)
    assert set(inspect(engine).get_table_names()) == set(Base.metadata.tables) | {"alembic_version"}
    engine.dispose()


def test_UpgradeIsIdempotent(database_url):
    upgrade(database_url)
    upgrade(database_url)


def test_Uint256IsExactOnEveryBackend(database_url):
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from agora.db.models import Payout

    upgrade(database_url)
    engine = create_engine(database_url)
    amounts = [2**256 - 1, 10**18 + 1, 0, 123_456_789_012_345_678_901_234_567]
    with Session(engine) as session:
        for i, amount in enumerate(amounts):
            session.add(Payout(account="0x" + "11" * 20, job_id=None, kind="refund", amount=amount, block_number=i,
                               log_index=0, tx_hash="0x" + "00" * 32))
        session.commit()
        stored = session.execute(select(Payout.amount).order_by(Payout.amount)).scalars().all()
    assert stored == sorted(amounts)
    engine.dispose()
