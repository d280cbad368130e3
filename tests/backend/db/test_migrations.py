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


def test_0002KeepsIndexedRowsAndStepsBack(database_url):
    """Upgrading an index made under 0001 keeps its rows (providers start with no lapsed
    matches, jobs with no parameter version); downgrading drops only what 0002 added."""
    from alembic.command import downgrade
    from sqlalchemy import text

    upgrade(database_url, "0001")
    engine = create_engine(database_url)
    with engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO providers (address, status, endpoint, region, gpu_model, cpu_millicores, memory_mib, "
            "storage_gib, gpu_count, used_cpu_millicores, used_memory_mib, used_storage_gib, used_gpu_count, "
            "price_cpu_core_gwei, price_memory_gib_gwei, price_gpu_gwei, price_storage_gib_gwei, stake, "
            "locked_collateral, unbonding, unbonding_unlocks_at, completed_jobs, missed_deadlines, disputes_lost, "
            "total_slashed, registered_block, updated_block) VALUES ('0x" + "11" * 20 + "', 'active', 'e', 'r', "
            "'g', 1, 1, 1, 0, 0, 0, 0, 0, 1, 1, 1, 1, 5, 0, 0, 0, 0, 0, 0, 0, 1, 1)"))
    upgrade(database_url)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT lapsed_matches FROM providers")).scalar_one() == 0
    columns = {c["name"] for c in inspect(engine).get_columns("jobs")}
    assert {"params_version", "challenge_window_seconds", "challenge_deadline", "arbitration_deadline"} <= columns
    engine.dispose()
    downgrade(alembic_config(database_url), "0001")
    engine = create_engine(database_url)
    assert "params_versions" not in inspect(engine).get_table_names()
    assert "lapsed_matches" not in {c["name"] for c in inspect(engine).get_columns("providers")}
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM providers")).scalar_one() == 1
    engine.dispose()
