"""Configuration from the environment (`AGORA_*`) or a `.env` file; every setting has an
embedded default, so a fresh checkout runs with SQLite and a local chain."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from agora.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="AGORA_", env_file=".env", extra="ignore")

    # Chain
    rpc_url: str = "http://127.0.0.1:8545"
    deployments_dir: Path = ROOT / "deployments"
    build_dir: Path = ROOT / "build" / "contracts"

    # Database: SQLite in the checkout by default; PostgreSQL with
    # postgresql+psycopg://user@host/db
    database_url: str = f"sqlite:///{ROOT / '.agora' / 'agora.db'}"

    # Indexer
    confirmations: int = Field(default=12, ge=0, description="blocks below the head reported final")
    reorg_history_blocks: int = Field(default=256, ge=1, description="blocks of undo history kept for reorgs")
    min_block_range: int = Field(default=1, ge=1)
    max_block_range: int = Field(default=20_000, ge=1)
    initial_block_range: int = Field(default=10, ge=1)
    target_logs_per_batch: int = Field(default=8_000, ge=1)
    poll_interval_seconds: float = Field(default=0.1, gt=0)
    # Read the next block range (on a thread) while writing this one, or not.
    indexer_prefetch: str = Field(default="thread", pattern="^(thread|off)$")


@lru_cache
def get_settings() -> Settings:
    """The settings of this process; ConfigError names the first invalid one."""
    try:
        return Settings()
    except ValidationError as exc:
        problem = exc.errors()[0]
        name = "AGORA_" + "_".join(str(part) for part in problem["loc"]).upper()
        raise ConfigError(f"{name}={problem.get('input')!s} is invalid ({problem['msg'][0].lower()}"
                          f"{problem['msg'][1:]}): fix it in the environment or in .env") from None
