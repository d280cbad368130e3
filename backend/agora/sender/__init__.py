"""The node's wallet and transaction sender: what the matchmaker, keeper and provider agent
send their transactions through (`TransactionSender`, `load_wallet`)."""

from agora.sender.sender import (
    AlreadySent,
    BroadcastRefused,
    FeeCapReached,
    Outcome,
    SenderError,
    SentTransaction,
    StillPending,
    TooManyInFlight,
    TransactionSender,
)
from agora.sender.settings import SenderSettings, WalletSettings
from agora.sender.wallet import InsufficientFunds, WalletError, load_wallet

__all__ = [
    "AlreadySent", "BroadcastRefused", "FeeCapReached", "InsufficientFunds", "Outcome", "SenderError", "SenderSettings",
    "SentTransaction", "StillPending", "TooManyInFlight", "TransactionSender", "WalletError", "WalletSettings",
    "load_wallet",
]
