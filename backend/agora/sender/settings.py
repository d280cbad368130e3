"""The wallet's and the sender's settings (AGORA_WALLET_*, AGORA_SENDER_*): two of
agora.config's per-service groups, and a loader for one group alone (the wallet commands
need no other). A key is never a command-line argument: it would show in `ps` and shell
history.
"""

from __future__ import annotations

from typing import TypeVar

from pydantic import ValidationError
from pydantic_settings import BaseSettings

from agora.config import SenderSettings, WalletSettings
from agora.errors import ConfigError

__all__ = ["SenderSettings", "WalletSettings", "load_settings"]

S = TypeVar("S", bound=BaseSettings)


def load_settings(kind: type[S]) -> S:
    """`kind()` with a one-line ConfigError naming the first invalid setting."""
    try:
        return kind()
    except ValidationError as exc:
        problem = exc.errors()[0]
        prefix = str(kind.model_config.get("env_prefix", ""))
        name = prefix + "_".join(str(part) for part in problem["loc"]).upper()
        raise ConfigError(f"{name} is invalid ({problem['msg']}): fix it in the environment or in .env") from None
