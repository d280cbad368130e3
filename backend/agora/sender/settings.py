"""The wallet's and the sender's settings (AGORA_WALLET_*, AGORA_SENDER_*).

Self-contained BaseSettings so they can move into agora.config's per-service groups as
they are. A key is never a command-line argument: it would show in `ps` and shell history.
"""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

from pydantic import Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from agora.errors import ConfigError

S = TypeVar("S", bound=BaseSettings)


class WalletSettings(BaseSettings):
    """Where the node's key comes from: an encrypted keystore (web3 `Account.encrypt` JSON)
    with its password in a file or in AGORA_WALLET_PASSWORD, or AGORA_WALLET_PRIVATE_KEY."""

    model_config = SettingsConfigDict(env_prefix="AGORA_WALLET_", env_file=".env", extra="ignore")

    keystore: Path | None = None
    password_file: Path | None = None
    password: SecretStr | None = None
    private_key: SecretStr | None = None


class SenderSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="AGORA_SENDER_", env_file=".env", extra="ignore")

    priority_fee_gwei: float = Field(default=1, ge=0, description="tip per gas offered to the block producer")
    max_fee_gwei: float = Field(default=500, gt=0, description="never pay more than this per gas")
    # Nodes refuse a replacement that does not raise both fees by at least 10%.
    fee_bump_percent: int = Field(default=15, ge=10)
    stuck_after_seconds: float = Field(default=30, ge=0, description="replace a transaction unmined this long")
    gas_margin_percent: int = Field(default=20, ge=0)
    max_in_flight: int = Field(default=64, ge=1)


def load_settings(kind: type[S]) -> S:
    """`kind()` with a one-line ConfigError naming the first invalid setting."""
    try:
        return kind()
    except ValidationError as exc:
        problem = exc.errors()[0]
        prefix = str(kind.model_config.get("env_prefix", ""))
        name = prefix + "_".join(str(part) for part in problem["loc"]).upper()
        raise ConfigError(f"{name} is invalid ({problem['msg']}): fix it in the environment or in .env") from None
