"""The composition root: settings in, a node's parts out.

The CLI, the Celery tasks, the benchmarks and the tests build every service through an
`App`, so none of them wires sessions, the chain client, the deployment or the wallet on
its own. Parts are built on first use and kept, and each is checked as it is built:

    app = App(get_settings())
    app.contracts          # web3 bindings of the deployment of the chain at AGORA_RPC_URL
    app.sessions           # sessionmaker over AGORA_DATABASE_URL (never migrates)
    app.migrate()          # only `agora db upgrade` and the commands that start a node call this
    app.indexer(), app.matchmaker(), app.keeper()

Nothing here decides anything: the services do, given what this hands them.
"""

from __future__ import annotations

import copy
from functools import cached_property
from typing import TYPE_CHECKING

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker
from web3 import Web3

from agora.chain.contracts import MarketContracts
from agora.chain.deployment import Deployment, deployment_path, load
from agora.chain.rpc import ChainRpc, RpcUnavailable
from agora.config import Settings, get_settings
from agora.errors import ChainError

if TYPE_CHECKING:
    from eth_account.signers.local import LocalAccount

    from agora.agent.service import ProviderAgent
    from agora.arbiter.service import Arbiter
    from agora.blobs import BlobClient, BlobStore
    from agora.indexer.service import Indexer
    from agora.keeper.service import Keeper
    from agora.matchmaker.service import Matchmaker
    from agora.sender.sender import TransactionSender

CHECKED_CONTRACTS = ("AgoraToken", "TimelockController", "AgoraGovernor", "ProtocolParams", "ProviderRegistry",
                     "JobMarket")


class App:
    """One node's parts, built from `settings` on first use."""

    def __init__(self, settings: Settings | None = None):
        self.settings = settings or get_settings()

    # -- chain ---------------------------------------------------------------------------

    @cached_property
    def rpc(self) -> ChainRpc:
        return ChainRpc(self.settings.chain.rpc_url, timeout=self.settings.chain.rpc_timeout_seconds)

    @cached_property
    def chain_id(self) -> int:
        try:
            return self.rpc.chain_id()
        except RpcUnavailable as exc:
            raise ChainError(f"no chain answers at {self.settings.chain.rpc_url} (set AGORA_RPC_URL): {exc}") from exc

    @cached_property
    def deployment(self) -> Deployment:
        """The deployment file of this chain, checked: complete, every ABI readable, and
        held by the chain (deploy block at or below the head, code at every address)."""
        directory = self.settings.chain.deployments_dir
        deployment = load(directory, self.chain_id)
        for name in CHECKED_CONTRACTS:
            if name in deployment.addresses:
                deployment.abi(name)
        deployment.check_on_chain(self.rpc, deployment_path(directory, self.chain_id))
        return deployment

    @cached_property
    def web3(self) -> Web3:
        provider = Web3.HTTPProvider(self.settings.chain.rpc_url,
                                     request_kwargs={"timeout": self.settings.chain.rpc_timeout_seconds})
        return Web3(provider)

    @cached_property
    def contracts(self) -> MarketContracts:
        return MarketContracts(self.web3, self.deployment)

    # -- database ------------------------------------------------------------------------

    @cached_property
    def engine(self) -> Engine:
        from agora.db.session import open_database

        return open_database(self.settings.database.database_url)

    @cached_property
    def sessions(self) -> sessionmaker[Session]:
        """Sessions over a database already at the latest schema (DatabaseError if it is
        not: `agora db upgrade`); building them never migrates."""
        from agora.db.migrate import require_latest
        from agora.db.session import make_sessionmaker

        require_latest(self.engine, self.settings.database.database_url)
        return make_sessionmaker(self.engine)

    def migrate(self) -> None:
        """Brings the database to the latest schema (idempotent)."""
        from agora.db.migrate import upgrade

        upgrade(self.settings.database.database_url)

    # -- wallet ----------------------------------------------------------------------------

    @cached_property
    def wallet(self) -> LocalAccount:
        from agora.sender.wallet import load_wallet

        return load_wallet(self.settings.wallet)

    @cached_property
    def sender(self) -> TransactionSender:
        from agora.sender.sender import TransactionSender

        return TransactionSender(self.web3, self.wallet, self.sessions, self.settings.sender)

    # -- services --------------------------------------------------------------------------

    def indexer(self) -> Indexer:
        from agora.indexer.service import AdaptiveRange, Indexer

        s = self.settings.indexer
        deployment = self.deployment  # the chain is checked before the database is opened
        return Indexer(
            self.sessions, self.rpc, deployment,
            confirmations=s.confirmations,
            history_blocks=s.reorg_history_blocks,
            block_range=AdaptiveRange(s.initial_block_range, s.min_block_range, s.max_block_range,
                                      s.target_logs_per_batch),
            poll_interval=s.poll_interval_seconds, prefetch=s.indexer_prefetch,
        )

    def matchmaker(self) -> Matchmaker:
        """This process's matchmaker (kept: it remembers which jobs its index is stale on)."""
        return self._matchmaker

    @cached_property
    def _matchmaker(self) -> Matchmaker:
        from agora.matchmaker.service import Matchmaker

        contracts = self.contracts
        return Matchmaker(self.sessions, contracts, self.sender, self.settings.matchmaker)

    def keeper(self) -> Keeper:
        from agora.keeper.service import Keeper

        contracts = self.contracts
        return Keeper(self.sessions, contracts, self.sender, self.settings.keeper)

    # -- job data ----------------------------------------------------------------------------

    @cached_property
    def blob_store(self) -> BlobStore:
        from agora.blobs import BlobStore

        blobs = self.settings.blobs
        return BlobStore(blobs.directory(self.settings.worker.state_dir), blobs.max_bytes)

    @cached_property
    def blobs(self) -> BlobClient:
        """This process's blobs: its own store, then the nodes in AGORA_BLOBS_PEERS."""
        from agora.blobs import BlobClient

        return BlobClient(self.blob_store, self.settings.blobs.peer_urls, self.settings.blobs.timeout_seconds)

    # -- provider agent and arbiter ------------------------------------------------------

    def agent(self) -> ProviderAgent:
        from agora.agent.service import ProviderAgent

        contracts = self.contracts
        return ProviderAgent(sessions=self.sessions, contracts=contracts, sender=self.sender, blobs=self.blobs,
                             settings=self.settings.agent)

    def arbiter(self) -> Arbiter:
        from agora.arbiter.service import Arbiter

        contracts = self.contracts
        return Arbiter(sessions=self.sessions, contracts=contracts, sender=self.sender, blobs=self.blobs,
                       settings=self.settings.arbiter)

    def close(self) -> None:
        if "blobs" in self.__dict__:
            self.blobs.close()
        if "engine" in self.__dict__:
            self.engine.dispose()


def build_indexer(settings: Settings, *, database_url: str | None = None) -> Indexer:
    """An indexer from settings, its database brought to the latest schema first (the
    commands that start an indexer migrate; nothing else does).

    Checks, before it writes anything: that a chain answers, that its deployment file is
    complete and every packaged ABI readable, that the chain holds that deployment, then
    that the database opens and is at a known migration."""
    if database_url is not None:
        settings = copy.copy(settings)
        settings.database = settings.database.model_copy(update={"database_url": database_url})
    app = App(settings)
    app.deployment  # noqa: B018 - checked before the database is touched
    app.migrate()
    return app.indexer()
