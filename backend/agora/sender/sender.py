"""The node's transaction sender: one wallet, many transactions in flight, none lost and
none sent twice.

Every transaction is simulated first (a revert costs no nonce), signed on a nonce taken
under a per-wallet database lock (so several processes can share one wallet), and stored
with its signed bytes BEFORE it is broadcast: whatever fails afterwards (the RPC, the
process, the node's mempool), poll() finds the record and broadcasts the same bytes again,
replaces it at higher fees when it is stuck, and reports it once it is final.

    sender = TransactionSender(web3, load_wallet(WalletSettings()), sessions, SenderSettings())
    sent = sender.send(contracts.market.functions.matchJob(terms, provider, price), key=f"match:{job_id}")
    outcome = sender.wait(sent)           # or: for outcome in sender.poll(): ...
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import requests
from eth_account.signers.local import LocalAccount
from eth_typing import HexStr
from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker
from web3 import Web3
from web3.contract.contract import ContractFunction
from web3.types import RPCEndpoint

from agora.chain.contracts import ContractRevert, DecodedError, decode_revert
from agora.chain.rpc import RpcError, RpcUnavailable
from agora.db.models.transactions import OutgoingTransaction, OutgoingTransactionHash, SenderWallet
from agora.errors import AgoraError, ChainError
from agora.sender.settings import SenderSettings
from agora.sender.wallet import InsufficientFunds

log = logging.getLogger(__name__)

GWEI = 10**9
PENDING, SUCCESS, REVERTED, DROPPED = "pending", "success", "reverted", "dropped"
RELEASED, FAILED = "released", "failed"
FINAL = (SUCCESS, REVERTED, DROPPED)
# How often send() re-signs after "nonce too low" / "underpriced" before giving up.
BROADCAST_ATTEMPTS = 8
KEY_LENGTH = 200  # outgoing_transactions.key
# How long a consumed nonce's receipt may stay unreadable before its transaction counts as dropped.
DROP_GRACE_SECONDS = 3.0


class SenderError(AgoraError):
    """The sender refuses or cannot finish a transaction."""


class AlreadySent(SenderError):
    """A transaction with this idempotency key is pending or mined successfully."""

    def __init__(self, record: SentTransaction, status: str):
        super().__init__(f"a transaction with key {record.key!r} is already {status} (nonce {record.nonce}, "
                         f"{record.tx_hash}): nothing sent; wait for its outcome instead of sending again")
        self.record, self.status = record, status


class TooManyInFlight(SenderError):
    def __init__(self, address: str, count: int):
        super().__init__(f"wallet {address} has {count} transactions in flight (AGORA_SENDER_MAX_IN_FLIGHT): "
                         f"poll() until some are mined, or raise the limit")


class StillPending(SenderError):
    def __init__(self, record: SentTransaction, timeout: float):
        super().__init__(f"transaction {record.key!r} (nonce {record.nonce}, {record.tx_hash}) is not final after "
                         f"{timeout:g} s: keep polling")


class NodeRefused(RpcError):
    """The node answered a call with an error; `data` is the revert data, if any."""

    def __init__(self, method: str, code: int, message: str, data: Any = None):
        super().__init__(method, code, message)
        self.data = data if isinstance(data, str) else (data or {}).get("data") if isinstance(data, dict) else None

    def revert(self) -> ContractRevert | None:
        """The decoded revert, if this error is a revert (EIP-1474 code 3, or a node's wording)."""
        if self.data is None and self.code != 3 and "revert" not in self.message.lower():
            return None
        data = self.data or "0x"
        decoded = decode_revert(data)
        if decoded.name is None and data == "0x":
            decoded = DecodedError(None, {"data": "0x", "message": self.message})
        return ContractRevert(decoded, data)


class FeeCapReached(SenderError):
    """The node wants more per gas than AGORA_SENDER_MAX_FEE_GWEI allows."""

    def __init__(self, key: str, refusal: str, cap_gwei: float):
        super().__init__(f"the node refuses {key!r} at the fee cap AGORA_SENDER_MAX_FEE_GWEI={cap_gwei:g} ({refusal}): "
                         f"it stays pending and goes out when the base fee falls; raise the cap to send it sooner")
        self.key = key


class BroadcastRefused(SenderError, ChainError):
    """The node refused a signed transaction for a reason the sender cannot repair."""


@dataclass(frozen=True)
class SentTransaction:
    """A stored, signed transaction (broadcast, unless the RPC was down: then poll() does)."""

    id: int
    key: str
    nonce: int
    tx_hash: str
    gas: int
    max_fee: int
    priority_fee: int


@dataclass(frozen=True)
class Outcome:
    key: str
    tx_hash: str  # the hash that was mined (the original or a replacement); the last one sent if dropped
    status: Literal["success", "reverted", "dropped"]
    block: int | None
    gas_used: int | None
    revert: ContractRevert | None


def _sent(record: OutgoingTransaction) -> SentTransaction:
    return SentTransaction(record.id, record.key, record.nonce, record.tx_hash, record.gas, record.max_fee,
                           record.priority_fee)


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(moment: datetime) -> datetime:
    # SQLite hands timestamps back without their zone; they were stored in UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _bumped(value: int, percent: int) -> int:
    return math.ceil(value * (100 + percent) / 100)


class _Refusal:
    """What a node's refusal of a raw transaction means (geth, anvil, reth, erigon wordings)."""

    KNOWN = ("already known", "known transaction", "already imported", "alreadyknown", "already in the pool",
             "transaction already exists")
    NONCE_LOW = ("nonce too low", "nonce has already been used", "oldnonce", "nonce is too low")
    # A fee the node will not take for this nonce now: below a transaction it already has,
    # or below the base fee. Both are repaired the same way, by re-signing at bumped fees.
    UNDERPRICED = ("underpriced", "replacement fee too low", "fee too low to replace", "less than block base fee",
                   "fee cap less than", "max fee per gas less than")
    FUNDS = ("insufficient funds", "insufficient balance", "lack of funds", "funds for gas")

    @classmethod
    def of(cls, message: str) -> str:
        text = message.lower()
        for kind, words in (("known", cls.KNOWN), ("nonce_low", cls.NONCE_LOW), ("underpriced", cls.UNDERPRICED),
                            ("funds", cls.FUNDS)):
            if any(word in text for word in words):
                return kind
        return "other"


class TransactionSender:
    """Sends the transactions of one wallet; any number of these (threads, processes) may
    share the wallet and the database. One object serves one thread: poll() and wait() keep
    the outcomes not yet reported in the object."""

    def __init__(self, web3: Web3, account: LocalAccount, sessions: sessionmaker[Session], settings: SenderSettings):
        self.web3, self.account, self.sessions, self.settings = web3, account, sessions, settings
        self.address: str = account.address
        self.chain_id: int = int(self._request("eth_chainId", []), 16)
        # Outcomes wait() settled for other records: poll() still reports each once.
        self._unreported: list[Outcome] = []
        self._missing: dict[int, float] = {}  # record id -> when its nonce was first seen used, no receipt of ours
        self._ensure_wallet_row()

    # -- sending -------------------------------------------------------------------------

    def send(self, call: ContractFunction, *, key: str, gas: int | None = None) -> SentTransaction:
        """Simulates, signs on the next nonce, stores, then broadcasts `call` from the wallet.

        AlreadySent if `key` is pending or succeeded; ContractRevert (no nonce used) if the
        call reverts now; InsufficientFunds (nonce released) if the wallet cannot pay;
        RpcUnavailable if the node is down while broadcasting (the record stays: poll()
        broadcasts it)."""
        if not 0 < len(key) <= KEY_LENGTH:
            raise SenderError(f"an idempotency key is 1 to {KEY_LENGTH} characters, not {len(key)}: use a shorter key "
                              f"(e.g. 'match:<job id>')")
        with self.sessions() as session:
            self._refuse_repeat(session, key)
            count = self._in_flight(session)
        if count >= self.settings.max_in_flight:
            raise TooManyInFlight(self.address, count)
        tx: dict[str, Any] = {"from": self.address, "to": call.address, "data": call._encode_transaction_data(),
                              "value": "0x0"}
        self._simulate(tx)
        if gas is None:
            gas = _bumped(self._estimate(tx), self.settings.gas_margin_percent)
        max_fee, tip = self._fees()
        record_id = self._store(key, tx, gas, max_fee, tip)
        return self._broadcast_new(record_id)

    def _simulate(self, tx: dict[str, Any]) -> None:
        try:
            self._request("eth_call", [tx, "pending"])
        except NodeRefused as exc:
            raise exc.revert() or exc from None

    def _estimate(self, tx: dict[str, Any]) -> int:
        """eth_estimateGas at "pending". A node binary-searches the gas over the state of the
        moment: when a block lands mid-search and changes what the call costs, it answers an
        error that is no revert (anvil: "OutOfGas"); one more estimate runs on settled state."""
        for attempt in (1, 2):
            try:
                return int(self._request("eth_estimateGas", [tx, "pending"]), 16)
            except NodeRefused as exc:
                revert = exc.revert()
                if revert is not None:
                    raise revert from None
                if attempt == 2:
                    raise BroadcastRefused(f"the node cannot estimate the gas of a call from {self.address} to "
                                           f"{tx['to']} ({exc}): pass gas= or check the node") from None
                log.info("gas estimate failed (%s); estimating again", exc)
        raise AssertionError("unreachable")

    def _fees(self) -> tuple[int, int]:
        """(maxFeePerGas, maxPriorityFeePerGas): twice the base fee plus the tip, within the cap."""
        cap = int(self.settings.max_fee_gwei * GWEI)
        tip = min(int(self.settings.priority_fee_gwei * GWEI), cap)
        base = self._base_fee()
        return min(2 * base + tip, cap), tip

    def _base_fee(self) -> int:
        block = self._request("eth_getBlockByNumber", ["latest", False])
        return int(block.get("baseFeePerGas") or "0x0", 16)

    def _store(self, key: str, tx: dict[str, Any], gas: int, max_fee: int, tip: int) -> int:
        with self.sessions.begin() as session:
            self._lock(session)
            self._refuse_repeat(session, key)
            nonce = self._next_nonce(session)
            raw, tx_hash = self._sign(tx["to"], tx["data"], int(tx["value"], 16), nonce, gas, max_fee, tip)
            record = OutgoingTransaction(
                address=self.address, chain_id=self.chain_id, key=key, nonce=nonce, to=tx["to"], data=tx["data"],
                value=int(tx["value"], 16), gas=gas, max_fee=max_fee, priority_fee=tip, tx_hash=tx_hash, raw=raw,
                status=PENDING, broadcast=False, sent_at=_now(), replacements=0)
            session.add(record)
            session.flush()
            session.add(OutgoingTransactionHash(tx_hash=tx_hash, transaction_id=record.id, max_fee=max_fee,
                                                priority_fee=tip))
            return record.id

    def _broadcast_new(self, record_id: int) -> SentTransaction:
        for _ in range(BROADCAST_ATTEMPTS):
            record = self._record(record_id)
            refusal = self._broadcast(record.raw)
            if refusal is None:
                return self._mark_broadcast(record)
            kind = _Refusal.of(refusal)
            if kind == "nonce_low":
                if self._known_or_mined(record):
                    # Our own bytes got there first (another process's poll() re-broadcast them).
                    return self._mark_broadcast(record)
                log.info("nonce %d of %s was used elsewhere; re-signing %r on a fresh nonce", record.nonce,
                         self.address, record.key)
                self._resign(record_id, fresh_nonce=True)
            elif kind == "underpriced":
                fees = self._bumped_fees(record)
                if not self._is_bump(record, fees):
                    # The record stays pending: poll() broadcasts it once the base fee allows.
                    raise FeeCapReached(record.key, refusal, self.settings.max_fee_gwei)
                log.info("nonce %d of %s: %s; re-signing %r at higher fees", record.nonce, self.address, refusal,
                         record.key)
                self._resign(record_id, fresh_nonce=False, fees=fees)
            elif kind == "funds":
                self._release(record_id)
                balance = int(self._request("eth_getBalance", [self.address, "latest"]), 16)
                raise InsufficientFunds(self.address, balance, record.gas * record.max_fee + record.value)
            else:
                self._release(record_id)
                raise BroadcastRefused(f"the node refused {record.key!r} from {self.address}: {refusal}")
        raise BroadcastRefused(f"the node kept refusing {record.key!r} from {self.address} after "
                               f"{BROADCAST_ATTEMPTS} re-signings: check the node and the wallet's pending nonces")

    def _broadcast(self, raw: str) -> str | None:
        """None if the node took (or already had) the signed bytes, else its refusal;
        RpcUnavailable if it did not answer."""
        try:
            self._request("eth_sendRawTransaction", [raw])
        except NodeRefused as exc:
            return None if _Refusal.of(exc.message) == "known" else exc.message
        return None

    def _mark_broadcast(self, record: OutgoingTransaction) -> SentTransaction:
        with self.sessions.begin() as session:
            session.execute(update(OutgoingTransaction).where(OutgoingTransaction.id == record.id,
                                                              OutgoingTransaction.tx_hash == record.tx_hash)
                            .values(broadcast=True, sent_at=_now()))
        return _sent(record)

    def _resign(self, record_id: int, *, fresh_nonce: bool, fees: tuple[int, int] | None = None) -> None:
        """Signs the record again on a fresh nonce, or on its nonce at `fees`."""
        with self.sessions.begin() as session:
            if fresh_nonce:
                self._lock(session)
            record = session.get_one(OutgoingTransaction, record_id)
            max_fee, tip = fees or (record.max_fee, record.priority_fee)
            nonce = self._next_nonce(session, exclude=record.id) if fresh_nonce else record.nonce
            raw, tx_hash = self._sign(record.to, record.data, record.value, nonce, record.gas, max_fee, tip)
            record.nonce, record.max_fee, record.priority_fee, record.raw, record.tx_hash = (
                nonce, max_fee, tip, raw, tx_hash)
            record.broadcast, record.sent_at = False, _now()
            session.add(OutgoingTransactionHash(tx_hash=tx_hash, transaction_id=record.id, max_fee=max_fee,
                                                priority_fee=tip))

    def _release(self, record_id: int) -> None:
        """The node never took this record: its nonce goes to the next send, so no gap is left."""
        with self.sessions.begin() as session:
            session.execute(update(OutgoingTransaction).where(OutgoingTransaction.id == record_id)
                            .values(status=RELEASED, broadcast=False))
            # No node holds these bytes; the same call re-sent on this nonce signs to the same hash.
            session.execute(delete(OutgoingTransactionHash).where(OutgoingTransactionHash.transaction_id == record_id))

    def _sign(self, to: str, data: str, value: int, nonce: int, gas: int, max_fee: int, tip: int) -> tuple[str, str]:
        signed = self.account.sign_transaction({
            "type": 2, "chainId": self.chain_id, "nonce": nonce, "to": HexStr(to), "data": HexStr(data),
            "value": value, "gas": gas, "maxFeePerGas": max_fee, "maxPriorityFeePerGas": tip})
        return Web3.to_hex(signed.raw_transaction), Web3.to_hex(signed.hash)

    # -- nonces --------------------------------------------------------------------------

    def _ensure_wallet_row(self) -> None:
        with self.sessions.begin() as session:
            dialect = session.get_bind().dialect.name
            insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
            session.execute(insert(SenderWallet).values(address=self.address, chain_id=self.chain_id)
                            .on_conflict_do_nothing())

    def _lock(self, session: Session) -> None:
        """Holds the wallet's row until the session's transaction ends (PostgreSQL; SQLite's
        BEGIN IMMEDIATE already holds the database's write lock)."""
        session.execute(select(SenderWallet).where(SenderWallet.address == self.address,
                                                   SenderWallet.chain_id == self.chain_id).with_for_update())

    def _next_nonce(self, session: Session, exclude: int | None = None) -> int:
        """A released nonce the chain has not used yet, else max(chain pending nonce,
        highest recorded + 1). Call under _lock."""
        mine = (OutgoingTransaction.address == self.address, OutgoingTransaction.chain_id == self.chain_id)
        released = session.scalars(select(OutgoingTransaction).where(*mine, OutgoingTransaction.status == RELEASED)
                                   .order_by(OutgoingTransaction.nonce)).all()
        if released:
            mined = self._nonce_at("latest")
            held = set(session.scalars(select(OutgoingTransaction.nonce).where(
                *mine, OutgoingTransaction.status.in_((PENDING, *FINAL)))))
            for record in released:
                record.status = FAILED  # its nonce is reused now, or was used by the chain
                if record.nonce >= mined and record.nonce not in held:
                    session.flush()
                    return record.nonce
            session.flush()
        query = select(func.max(OutgoingTransaction.nonce)).where(*mine)
        if exclude is not None:
            query = query.where(OutgoingTransaction.id != exclude)
        highest = session.scalar(query)
        pending = self._nonce_at("pending")
        return max(pending, -1 if highest is None else highest + 1)

    # -- following -----------------------------------------------------------------------

    def poll(self) -> list[Outcome]:
        """Settles every in-flight transaction of the wallet that is final now and returns
        each once; replaces the stuck, re-broadcasts those the node lost or never got."""
        outcomes, self._unreported = self._unreported, []
        try:
            outcomes.extend(self._poll())
        except ChainError:
            if not outcomes:
                raise
            log.warning("poll of %s stopped early: the node did not answer", self.address, exc_info=True)
        return outcomes

    def _poll(self) -> list[Outcome]:
        with self.sessions() as session:
            records = session.scalars(select(OutgoingTransaction).where(
                OutgoingTransaction.address == self.address, OutgoingTransaction.chain_id == self.chain_id,
                OutgoingTransaction.status == PENDING).order_by(OutgoingTransaction.nonce)).all()
            if not records:
                return []
            hashes: dict[int, list[str]] = {}
            for row in session.execute(select(OutgoingTransactionHash.transaction_id, OutgoingTransactionHash.tx_hash)
                                       .where(OutgoingTransactionHash.transaction_id.in_([r.id for r in records]))):
                hashes.setdefault(row[0], []).append(row[1])
        # The nonce count at a block whose receipts are readable: a nonce below it with no
        # receipt of ours was consumed by someone else's transaction.
        head = self._request("eth_blockNumber", [])
        mined = self._nonce_at(head)
        outcomes = []
        for record in records:
            ours = [record.tx_hash, *(h for h in hashes.get(record.id, []) if h != record.tx_hash)]
            receipt = self._receipt(ours) if record.nonce < mined else None
            if receipt is not None:
                self._missing.pop(record.id, None)
                outcome = self._settle_mined(record, receipt)
            elif record.nonce < mined:
                # A node may count a nonce a moment before it serves the receipt that used
                # it (anvil does; so do load-balanced RPCs whose replicas lag): a drop is
                # declared only once the receipt has stayed missing for DROP_GRACE_SECONDS.
                first = self._missing.setdefault(record.id, time.monotonic())
                if time.monotonic() - first < DROP_GRACE_SECONDS:
                    continue
                self._missing.pop(record.id, None)
                outcome = self._settle(record, DROPPED, record.tx_hash, None, None, None)
            else:
                self._follow(record)
                continue
            if outcome is not None:
                outcomes.append(outcome)
        return outcomes

    def _follow(self, record: OutgoingTransaction) -> None:
        """An unmined record: broadcast it again if the node lost it, replace it if stuck."""
        if not record.broadcast or not self._known(record.tx_hash):
            refusal = self._broadcast(record.raw)
            if refusal is None:
                self._mark_broadcast(record)
            elif _Refusal.of(refusal) == "underpriced":
                self._replace(record)
            else:
                # "nonce too low": mined meanwhile (the next poll sees it); funds: it waits for them.
                log.warning("re-broadcast of %r (nonce %d) refused: %s", record.key, record.nonce, refusal)
            return
        if (_now() - _aware(record.sent_at)).total_seconds() >= self.settings.stuck_after_seconds:
            self._replace(record)

    def _bumped_fees(self, record: OutgoingTransaction) -> tuple[int, int]:
        """Both fees raised by fee_bump_percent (maxFee also to cover twice today's base fee),
        within the cap."""
        cap = int(self.settings.max_fee_gwei * GWEI)
        tip = min(_bumped(record.priority_fee, self.settings.fee_bump_percent), cap)
        max_fee = max(_bumped(record.max_fee, self.settings.fee_bump_percent), 2 * self._base_fee() + tip)
        return min(max_fee, cap), tip

    @staticmethod
    def _is_bump(record: OutgoingTransaction, fees: tuple[int, int]) -> bool:
        """Whether nodes take `fees` as a replacement of the record: both at least 10% higher."""
        return fees[0] >= _bumped(record.max_fee, 10) and fees[1] >= _bumped(record.priority_fee, 10)

    def _replace(self, record: OutgoingTransaction) -> None:
        """The same nonce and call at bumped fees; the record keeps every hash it had."""
        max_fee, tip = self._bumped_fees(record)
        if not self._is_bump(record, (max_fee, tip)):
            log.warning("%r (nonce %d) is stuck at the fee cap AGORA_SENDER_MAX_FEE_GWEI=%g", record.key,
                        record.nonce, self.settings.max_fee_gwei)
            return
        raw, tx_hash = self._sign(record.to, record.data, record.value, record.nonce, record.gas, max_fee, tip)
        with self.sessions.begin() as session:
            # Only if no one (another process) replaced it since we read it.
            replaced = session.execute(
                update(OutgoingTransaction)
                .where(OutgoingTransaction.id == record.id, OutgoingTransaction.tx_hash == record.tx_hash,
                       OutgoingTransaction.status == PENDING)
                .values(tx_hash=tx_hash, raw=raw, max_fee=max_fee, priority_fee=tip, broadcast=False, sent_at=_now(),
                        replacements=OutgoingTransaction.replacements + 1))
            if replaced.rowcount != 1:  # type: ignore[attr-defined]
                return
            session.add(OutgoingTransactionHash(tx_hash=tx_hash, transaction_id=record.id, max_fee=max_fee,
                                                priority_fee=tip))
        log.info("replacing %r (nonce %d) at %d/%d wei per gas: %s", record.key, record.nonce, max_fee, tip, tx_hash)
        refusal = self._broadcast(raw)
        if refusal is None:
            with self.sessions.begin() as session:
                session.execute(update(OutgoingTransaction).where(OutgoingTransaction.id == record.id,
                                                                  OutgoingTransaction.tx_hash == tx_hash)
                                .values(broadcast=True))
        else:
            log.warning("replacement of %r (nonce %d) refused: %s", record.key, record.nonce, refusal)

    def _settle_mined(self, record: OutgoingTransaction, receipt: Any) -> Outcome | None:
        mined_hash, block, gas_used = receipt["transactionHash"], int(receipt["blockNumber"], 16), int(
            receipt["gasUsed"], 16)
        if int(receipt["status"], 16) == 1:
            return self._settle(record, SUCCESS, mined_hash, block, gas_used, None)
        return self._settle(record, REVERTED, mined_hash, block, gas_used, self._replay(record, block))

    def _replay(self, record: OutgoingTransaction, block: int) -> str:
        """The revert data of a reverted transaction, from its call replayed on the state
        before its block ("0x" if it does not revert there: an earlier transaction of the
        same block made it revert)."""
        try:
            self._request("eth_call", [{"from": self.address, "to": record.to, "data": record.data,
                                        "value": hex(record.value), "gas": hex(record.gas)}, hex(block - 1)])
        except NodeRefused as exc:
            revert = exc.revert()
            if revert is not None:
                return revert.data
            log.warning("cannot replay reverted %r to decode its error: %s", record.key, exc)
        except ChainError:
            log.warning("cannot replay reverted %r to decode its error", record.key, exc_info=True)
        return "0x"

    def _settle(self, record: OutgoingTransaction, status: str, mined_hash: str, block: int | None,
                gas_used: int | None, revert_data: str | None) -> Outcome | None:
        """Marks the record final, unless another process did first (then it reports it)."""
        with self.sessions.begin() as session:
            result = session.execute(
                update(OutgoingTransaction).where(OutgoingTransaction.id == record.id,
                                                  OutgoingTransaction.status == PENDING)
                .values(status=status, mined_hash=mined_hash, block_number=block, gas_used=gas_used,
                        revert_data=revert_data))
        if result.rowcount != 1:  # type: ignore[attr-defined]
            return None
        return _outcome(record.key, status, mined_hash, block, gas_used, revert_data)

    def _receipt(self, hashes: Iterable[str]) -> Any | None:
        for tx_hash in hashes:
            receipt = self._request("eth_getTransactionReceipt", [tx_hash])
            if receipt is not None and receipt.get("blockNumber") is not None:
                return receipt
        return None

    def _known(self, tx_hash: str) -> bool:
        return self._request("eth_getTransactionByHash", [tx_hash]) is not None

    def _known_or_mined(self, record: OutgoingTransaction) -> bool:
        with self.sessions() as session:
            hashes = session.scalars(select(OutgoingTransactionHash.tx_hash)
                                     .where(OutgoingTransactionHash.transaction_id == record.id)).all()
        return any(self._known(h) for h in hashes)

    def wait(self, sent: SentTransaction, timeout: float = 30) -> Outcome:
        """Polls until `sent` is final; StillPending after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            record = self._record(sent.id)
            if record.status in FINAL:
                self._unreported = [o for o in self._unreported
                                    if o.key != record.key or o.tx_hash != record.mined_hash]
                return _outcome(record.key, record.status, record.mined_hash or record.tx_hash, record.block_number,
                                record.gas_used, record.revert_data)
            if record.status != PENDING:
                raise SenderError(f"transaction {record.key!r} was never accepted by the node ({record.status}): "
                                  f"send it again")
            if time.monotonic() >= deadline:
                raise StillPending(sent, timeout)
            self._unreported.extend(self._poll())
            if self._record(sent.id).status == PENDING:
                time.sleep(0.05)

    def in_flight(self) -> int:
        with self.sessions() as session:
            return self._in_flight(session)

    # -- helpers -------------------------------------------------------------------------

    def _in_flight(self, session: Session) -> int:
        return session.scalar(select(func.count()).select_from(OutgoingTransaction).where(
            OutgoingTransaction.address == self.address, OutgoingTransaction.chain_id == self.chain_id,
            OutgoingTransaction.status == PENDING)) or 0

    def _record(self, record_id: int) -> OutgoingTransaction:
        with self.sessions() as session:
            return session.get_one(OutgoingTransaction, record_id)

    def _refuse_repeat(self, session: Session, key: str) -> None:
        existing = session.scalars(select(OutgoingTransaction).where(
            OutgoingTransaction.address == self.address, OutgoingTransaction.chain_id == self.chain_id,
            OutgoingTransaction.key == key, OutgoingTransaction.status.in_((PENDING, SUCCESS)))
            .order_by(OutgoingTransaction.id.desc()).limit(1)).first()
        if existing is not None:
            raise AlreadySent(_sent(existing), "mined" if existing.status == SUCCESS else "pending")

    def _nonce_at(self, block: str) -> int:
        return int(self._request("eth_getTransactionCount", [self.address, block]), 16)

    def _request(self, method: str, params: list) -> Any:
        """One JSON-RPC call through the web3 provider, without web3's middleware (which asks
        the node its chain id again for every transaction it validates): RpcUnavailable if
        the node does not answer, NodeRefused if it answers an error."""
        try:
            response = self.web3.provider.make_request(RPCEndpoint(method), params)
        except (requests.ConnectionError, requests.Timeout, ConnectionError, TimeoutError) as exc:
            raise RpcUnavailable(f"the node did not answer {method} ({type(exc).__name__}): check AGORA_RPC_URL and "
                                 f"the node") from exc
        error = response.get("error")
        if error is not None:
            if not isinstance(error, dict):
                error = {"message": str(error)}
            raise NodeRefused(method, int(error.get("code", 0)), str(error.get("message", error)), error.get("data"))
        return response.get("result")

def _outcome(key: str, status: str, tx_hash: str, block: int | None, gas_used: int | None,
             revert_data: str | None) -> Outcome:
    revert = None
    if status == REVERTED:
        data = revert_data or "0x"
        decoded = decode_revert(data)
        if decoded.name is None and data == "0x":
            decoded = DecodedError(None, {"data": "0x", "message": "reverted on chain; replaying it did not revert"})
        revert = ContractRevert(decoded, data)
    return Outcome(key, tx_hash, status, block, gas_used, revert)  # type: ignore[arg-type]
