"""The indexing loop: backfill from the deploy block, then follow the head, projecting each
block range in one transaction together with its checkpoint; detect reorganizations by
parent hash and roll back to the common ancestor.

Crash safety comes from the transaction: a batch's events, projections, undo history and
the new checkpoint commit together or not at all, so a process killed at any point
restarts from a checkpoint that matches the rows exactly.
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from agora.chain.deployment import Deployment
from agora.chain.rpc import BlockHeader, BlockNotFound, ChainRpc, RpcError, RpcUnavailable
from agora.errors import AgoraError
from agora.indexer import store
from agora.indexer.decoder import EventDecoder
from agora.indexer.projections import Projection, keys_of, referenced_keys

log = logging.getLogger("agora.indexer")

INDEXED_CONTRACTS = ("AgoraToken", "TimelockController", "AgoraGovernor", "ProtocolParams", "ProviderRegistry",
                     "JobMarket")


class IndexerError(AgoraError):
    """The indexer cannot go on safely; the message says why and what to do."""


class ReorgTooDeep(IndexerError):
    """The chain changed below the undo history the indexer keeps."""


class CheckpointMoved(RuntimeError):
    """Another indexer advanced the checkpoint meanwhile: start the step again."""


@dataclass(frozen=True)
class IndexerStatus:
    chain_id: int
    head: int
    indexed: int
    lag: int
    finalized: int  # highest indexed block at least `confirmations` below the head

    @property
    def rollback_pending(self) -> bool:
        """The index ends above the head: the chain switched to a shorter fork, and the
        indexer rolls back to the common ancestor on its next step."""
        return self.indexed > self.head


@dataclass(frozen=True)
class _Prepared:
    """A fetched and decoded block range, not yet written."""

    start: int
    to_block: int
    to_header: BlockHeader
    parent_hash: str
    events: list


@dataclass
class StepResult:
    events: int = 0
    blocks: int = 0
    rolled_back_to: int | None = None
    indexed_to: int | None = None  # the block the step indexed up to, if it indexed any
    head: int | None = None


class AdaptiveRange:
    """Block range per eth_getLogs call: grows while responses are small and quick,
    shrinks when they are large or the node refuses them."""

    def __init__(self, initial: int, minimum: int, maximum: int, target_logs: int):
        self.size, self.minimum, self.maximum, self.target = initial, minimum, maximum, target_logs

    def grow_or_shrink(self, logs: int, seconds: float) -> None:
        if logs > self.target:
            self.size = max(self.minimum, self.size // 2)
        elif logs < self.target // 4 and seconds < 1.0:
            self.size = min(self.maximum, self.size * 2)

    def shrink(self) -> bool:
        """Halves the range after the node refused it, and never grows back past that:
        nodes refuse by a fixed limit (blocks or results), so probing again only wastes
        calls. False if the range is already at its minimum."""
        if self.size <= self.minimum:
            return False
        self.size = max(self.minimum, self.size // 2)
        self.maximum = self.size
        return True


class RangeReader:
    """Fetches and decodes block ranges: the half of indexing that needs only the node."""

    def __init__(self, rpc: ChainRpc, decoder: EventDecoder, addresses: list[str], block_range: AdaptiveRange):
        self.rpc, self.decoder, self.addresses, self.range = rpc, decoder, addresses, block_range

    def prepare(self, parent_block: int, parent_hash: str, head: int) -> _Prepared | None:
        """Fetches and decodes the range after `parent_block`; None if the chain no longer
        holds `parent_hash` there (a reorganization)."""
        start = parent_block + 1
        to_block, logs, to_header = self._fetch(start, head)
        # Checked after the logs: a reorganization at or below the parent shows here.
        if self.rpc.header(start).parent_hash != parent_hash:
            return None
        events = [e for e in map(self.decoder.decode, logs) if e is not None]
        return _Prepared(start, to_block, to_header, parent_hash, events)

    def _fetch(self, start: int, head: int) -> tuple[int, list[dict], BlockHeader]:
        while True:
            to_block = min(start + self.range.size - 1, head)
            before = self.rpc.header(to_block)
            began = time.monotonic()
            try:
                logs = self.rpc.logs(start, to_block, self.addresses)
            except RpcError as exc:
                # Providers cap ranges and result sizes in their own words; halve and retry.
                if self.range.shrink():
                    log.info("eth_getLogs refused %d blocks (%s); trying %d",
                             to_block - start + 1, exc, self.range.size)
                    continue
                raise
            after = self.rpc.header(to_block)
            if after.hash != before.hash:
                continue  # reorganized while we fetched: fetch again
            self.range.grow_or_shrink(len(logs), time.monotonic() - began)
            return to_block, logs, before


class _ReadAhead:
    """Fetches and decodes the next range on a thread while the current one is written.
    The result is used only if it sits exactly on the checkpoint the range was written to.

    A second process was tried too: on two cores shared with the database server it gained
    nothing measurable over a thread (bench/indexer.py), so the thread stays.
    """

    def __init__(self, reader: RangeReader, pool: ThreadPoolExecutor):
        self.reader, self.pool = reader, pool
        self.pending: tuple[int, str, Future] | None = None

    def prepare(self, parent_block: int, parent_hash: str, head: int) -> _Prepared | None:
        pending, self.pending = self.pending, None
        if pending and pending[:2] == (parent_block, parent_hash):
            return pending[2].result()
        return self.reader.prepare(parent_block, parent_hash, head)

    def start(self, prepared: _Prepared, head: int) -> None:
        if prepared.to_block < head:
            self.pending = (prepared.to_block, prepared.to_header.hash,
                            self.pool.submit(self.reader.prepare, prepared.to_block, prepared.to_header.hash, head))


class _Progress:
    """Logs the backfill's position and speed every few seconds, when it reaches the head, and
    then once a minute while it follows the head."""

    def __init__(self, every_seconds: float = 5.0):
        self.every = every_seconds
        self.started = self.last = time.monotonic()
        self.events = 0
        self.at_head = False

    def advanced(self, result: StepResult) -> None:
        if result.indexed_to is None or result.head is None:
            return
        block, head = result.indexed_to, result.head
        self.events += result.events
        now = time.monotonic()
        reached = block >= head and not self.at_head
        self.at_head = block >= head
        # While following the head a line a minute is enough.
        if reached or now - self.last >= (60.0 if self.at_head else self.every):
            self.last = now
            rate = self.events / max(now - self.started, 1e-9)
            log.info("indexed block %d of %d (lag %d), %d events, %.0f events/s", block, head, head - block,
                     self.events, rate)


class Indexer:
    def __init__(self, sessions: sessionmaker[Session], rpc: ChainRpc, deployment: Deployment, *,
                 build_root: Path | None = None, confirmations: int, history_blocks: int, block_range: AdaptiveRange,
                 poll_interval: float = 0.1, prefetch: str = "thread"):
        if prefetch not in ("thread", "off"):
            raise IndexerError(f"prefetch must be thread or off, not {prefetch!r}")
        self.sessions = sessions
        self.rpc = rpc
        self.deployment = deployment
        self.confirmations = confirmations
        self.history_blocks = history_blocks
        self.poll_interval = poll_interval
        self.prefetch = prefetch
        contracts = {name: (deployment.address(name), deployment.abi(name))
                     for name in INDEXED_CONTRACTS if name in deployment.addresses}
        self.reader = RangeReader(rpc, EventDecoder(contracts), [a for a, _ in contracts.values()], block_range)
        self.treasury = deployment.raw.get("treasury", deployment.addresses.get("TimelockController", "")).lower()

    # ------------------------------------------------------------------ loop

    def run(self, *, until_block: int | None = None, stop=lambda: False) -> None:
        """Indexes until `stop()` is true (or `until_block` is indexed); retries the node.
        With prefetching on, the next range is read while this one is written."""
        backoff = 0.1
        progress = _Progress()
        with self._read_ahead() as ahead:
            while not stop():
                try:
                    result = self._step(ahead)
                    backoff = 0.1
                except BlockNotFound as exc:
                    # The chain got shorter between reading the head and this block: the
                    # next step reads the new head (and rolls back if the index is above it).
                    log.info("the chain changed while reading (%s); starting the step again", exc)
                    time.sleep(self.poll_interval)
                    continue
                except (RpcUnavailable, RpcError) as exc:
                    log.warning("node unavailable, retrying in %.1f s: %s", backoff, exc)
                    time.sleep(backoff)
                    backoff = min(backoff * 2, 5.0)
                    continue
                except CheckpointMoved:
                    continue
                if result.indexed_to is not None:
                    progress.advanced(result)
                if until_block is not None and self.indexed_block() >= until_block:
                    return
                if result.blocks == 0 and result.rolled_back_to is None:
                    time.sleep(self.poll_interval)

    @contextmanager
    def _read_ahead(self):
        if self.prefetch == "off":
            yield None
            return
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="agora-prefetch") as pool:
            yield _ReadAhead(self.reader, pool)

    def step(self) -> StepResult:
        """Indexes the next block range (or rolls back a reorganization), without prefetching."""
        return self._step(None)

    def catch_up(self, budget_seconds: float) -> int:
        """Steps until the index reaches the head or `budget_seconds` pass; the blocks indexed.
        What a periodic task or a service's round does before it reads the index."""
        began, blocks = time.monotonic(), 0
        while time.monotonic() - began < budget_seconds:
            result = self.step()
            blocks += result.blocks
            if result.blocks == 0 and result.rolled_back_to is None:
                break
        return blocks

    def _step(self, ahead: _ReadAhead | None) -> StepResult:
        head = self.rpc.block_number()
        checkpoint = self._checkpoint()
        if checkpoint.block_number > head:
            # A shorter fork replaced the indexed tip: not a node that is behind, a
            # reorganization (the checkpoint's block no longer exists).
            return StepResult(rolled_back_to=self.roll_back(), head=head)
        if checkpoint.block_number == head:
            return self._check_tip(checkpoint)
        prepared = (ahead or self.reader).prepare(checkpoint.block_number, checkpoint.block_hash, head)
        if prepared is None:
            return StepResult(rolled_back_to=self.roll_back())
        if ahead is not None:
            ahead.start(prepared, head)
        return self._commit(prepared, head)

    def _check_tip(self, checkpoint) -> StepResult:
        """At the head: the checkpoint must still be in the chain."""
        if self._hash_at(checkpoint.block_number) != checkpoint.block_hash:
            return StepResult(rolled_back_to=self.roll_back())
        return StepResult()

    def _commit(self, prepared: _Prepared, head: int) -> StepResult:
        """Projects a prepared range and advances the checkpoint, in one transaction."""
        with self.sessions.begin() as session:
            store.skip_commit_flush(session)
            locked = store.existing_checkpoint(session, lock=True)
            if (locked.block_number, locked.block_hash) != (prepared.start - 1, prepared.parent_hash):
                raise CheckpointMoved()
            before = store.load_rows(session, keys_of(prepared.events))
            # Rows the events touch without naming them (a cancelled match's provider).
            for table, extra in store.load_rows(session, referenced_keys(before, prepared.events)).items():
                before.setdefault(table, {}).update(extra)
            # The projection updates copies: `before` must keep the rows as they were.
            projection = Projection(treasury=self.treasury,
                                    rows={t: {k: dict(row) for k, row in rows.items()} for t, rows in before.items()})
            for event in prepared.events:
                projection.apply(event)
            store.write_batch(session, projection, before, from_block=prepared.start, to_block=prepared.to_block,
                              parent_hash=prepared.parent_hash, to_hash=prepared.to_header.hash)
            store.set_checkpoint(session, self.deployment.chain_id, prepared.to_block, prepared.to_header.hash)
            store.prune_batches(session, head - self.history_blocks)
        return StepResult(events=len(prepared.events), blocks=prepared.to_block - prepared.start + 1,
                          indexed_to=prepared.to_block, head=head)

    # ------------------------------------------------------------------ reorganizations

    def roll_back(self) -> int:
        """Undoes batches, newest first, until one sits on a block still in the chain.
        Returns the block the index now ends at. All in one transaction.

        A block above the chain's head is not in the chain: a fork shorter than the index
        rolls back like any other."""
        with self.sessions.begin() as session:
            checkpoint = store.existing_checkpoint(session, lock=True)
            if self._hash_at(checkpoint.block_number) == checkpoint.block_hash:
                return checkpoint.block_number  # another indexer rolled back meanwhile
            for batch in store.batches_newest_first(session):
                store.undo_batch(session, batch)
                parent = batch.from_block - 1
                if self._hash_at(parent) == batch.parent_hash:
                    store.rollback_to(session, parent)
                    store.set_checkpoint(session, self.deployment.chain_id, parent, batch.parent_hash)
                    log.warning("reorganization: rolled back to block %d", parent)
                    return parent
            raise ReorgTooDeep(
                f"the chain changed below block {checkpoint.block_number - self.history_blocks + 1} and the indexer "
                f"keeps undo history for {self.history_blocks} blocks only; nothing was changed. Re-index into a "
                f"fresh database, or raise AGORA_REORG_HISTORY_BLOCKS."
            )

    def _hash_at(self, number: int) -> str | None:
        """The hash of the chain's block `number`; None above the head."""
        try:
            return self.rpc.header(number).hash
        except BlockNotFound:
            return None

    # ------------------------------------------------------------------ state

    def _checkpoint(self):
        try:
            return self._read_or_start_checkpoint()
        except IntegrityError:
            # Another indexer started the same database at the same moment: use its row.
            return self._read_or_start_checkpoint()

    def _read_or_start_checkpoint(self):
        with self.sessions.begin() as session:
            checkpoint = store.get_checkpoint(session)
            if checkpoint is None:
                start = self.deployment.deploy_block - 1
                header = self.rpc.header(start)
                store.start_checkpoint(session, self.deployment.chain_id, start, header.hash)
                checkpoint = store.get_checkpoint(session)
            elif checkpoint.chain_id != self.deployment.chain_id:
                raise IndexerError(
                    f"this database indexes chain {checkpoint.chain_id}, the deployment is on chain "
                    f"{self.deployment.chain_id}: use another AGORA_DATABASE_URL"
                )
            session.expunge(checkpoint)
            return checkpoint

    def indexed_block(self) -> int:
        with self.sessions() as session:
            checkpoint = store.get_checkpoint(session)
            return checkpoint.block_number if checkpoint else self.deployment.deploy_block - 1

    def status(self) -> IndexerStatus:
        head = self.rpc.block_number()
        indexed = self.indexed_block()
        return IndexerStatus(
            chain_id=self.deployment.chain_id, head=head, indexed=indexed, lag=max(0, head - indexed),
            finalized=min(indexed, head - self.confirmations),
        )
