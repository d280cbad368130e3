"""`agora gov`: delegate votes, propose parameter changes, vote, queue, execute, and read
proposals and parameters.

A proposal changes ProtocolParams through its setters (`setCollateralRatioBps`, ...); the
timelock, the only account allowed to call them, does so when the proposal executes.
Values are checked against the deployment's bounds (`ProtocolParams.bounds`) before anything
is sent: a proposal outside them would pass its vote and then fail at execution."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import Enum
from typing import TYPE_CHECKING, Annotated, Any

import typer
from eth_utils import keccak
from rich.markup import escape

from agora.cli.common import (
    InputError,
    JsonOption,
    chain_time,
    console,
    duration,
    emit,
    emit_line,
    key_value_table,
    load_account,
    open_app,
    parse_address,
    parse_tokens,
    receipt_data,
    token_text,
    tokens,
    transact,
    when,
)

if TYPE_CHECKING:
    from agora.app import App

app = typer.Typer(help="Governance: delegate votes, propose parameter changes, vote, queue and execute them.",
                  no_args_is_help=True)

# OpenZeppelin's IGovernor.ProposalState, in order.
STATES = ("Pending", "Active", "Canceled", "Defeated", "Succeeded", "Queued", "Expired", "Executed")
BPS_WHOLE = 10_000


@dataclass(frozen=True)
class Parameter:
    """One governed parameter: its name on the command line, its index in
    IProtocolParams.Parameter (None: the arbiter, which has no bounds), and its unit."""

    name: str
    index: int | None
    unit: str  # "tokens" (given in tokens, kept in wei), "seconds", "bps" or "address"

    @property
    def solidity(self) -> str:
        return "".join(part.capitalize() for part in self.name.split("_"))

    @property
    def getter(self) -> str:
        return self.solidity[0].lower() + self.solidity[1:]

    @property
    def setter(self) -> str:
        return "set" + self.solidity


# The order of IProtocolParams.Parameter (and of its Values struct); the arbiter last.
PARAMETERS = tuple(Parameter(name, index, unit) for index, (name, unit) in enumerate((
    ("min_provider_stake", "tokens"),
    ("unbonding_period_seconds", "seconds"),
    ("accept_window_seconds", "seconds"),
    ("challenge_window_seconds", "seconds"),
    ("collateral_ratio_bps", "bps"),
    ("missed_deadline_slash_bps", "bps"),
    ("fault_slash_bps", "bps"),
    ("buyer_share_bps", "bps"),
    ("reporter_share_bps", "bps"),
    ("protocol_fee_bps", "bps"),
    ("matchmaker_fee_bps", "bps"),
    ("dispute_bond", "tokens"),
    ("min_job_collateral", "tokens"),
    ("arbitration_window_seconds", "seconds"),
))) + (Parameter("arbiter", None, "address"),)
BY_NAME = {p.name: p for p in PARAMETERS}
# The governor's own settings (IGovernorSettingsBounds.Setting order) and the timelock's delay.
GOVERNOR_SETTINGS = (("voting_delay_seconds", "votingDelay", "seconds"), ("voting_period_seconds", "votingPeriod",
                     "seconds"), ("proposal_threshold", "proposalThreshold", "tokens"),
                     ("quorum_percent", "quorumNumerator", "percent"))

_SECONDS = re.compile(r"^\s*(\d+)\s*(s|sec|m|min|h|d|w)?\s*$")
_SECONDS_PER = {None: 1, "s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "d": 86_400, "w": 604_800}


def show(parameter: Parameter | str, value: Any) -> str:
    """A parameter's value for people, in its unit."""
    unit = parameter.unit if isinstance(parameter, Parameter) else parameter
    if unit == "tokens":
        return f"{token_text(value)} token{'' if value == 10**18 else 's'}"
    if unit == "seconds":
        return f"{value} s" if value < 60 else f"{value} s ({duration(value)})"
    if unit == "bps":
        return f"{value} bps ({Decimal(value) / 100:f}%)"
    if unit == "percent":
        return f"{value}%"
    return str(value)


def show_range(parameter: Parameter | str, low: int, high: int) -> str:
    """A parameter's bounds for people, compactly: "1 s to 90 d", "0 to 50000 bps"."""
    unit = parameter.unit if isinstance(parameter, Parameter) else parameter
    if unit == "tokens":
        return f"{token_text(low)} to {token_text(high)} tokens"
    if unit == "seconds":
        return f"{duration(low)} to {duration(high)}"
    if unit == "bps":
        return f"{low} to {high} bps"
    if unit == "percent":
        return f"{low} to {high}%"
    return f"{low} to {high}"


def plain_value(parameter: Parameter | str, value: Any) -> Any:
    """A parameter's value for JSON: token wei as a string, the rest as it is."""
    unit = parameter.unit if isinstance(parameter, Parameter) else parameter
    return str(value) if unit == "tokens" else value


def parse_value(parameter: Parameter, text: str) -> Any:
    """A value given on the command line in the parameter's unit: tokens ("12.5"), seconds
    ("90", "5m", "2h", "7d"), basis points ("15000" or "150%"), or an address."""
    if parameter.unit == "tokens":
        return parse_tokens(text, parameter.name, maximum=None)
    if parameter.unit == "seconds":
        found = _SECONDS.match(text)
        if not found:
            raise InputError(f"{parameter.name} {text!r} is not a duration: give whole seconds, or a number with "
                             f"s, m, h, d or w (90, 5m, 2h, 7d)")
        return int(found.group(1)) * _SECONDS_PER[found.group(2)]
    if parameter.unit == "bps":
        stripped = text.strip()
        try:
            if stripped.endswith("%"):
                number = Decimal(stripped[:-1]) * 100
            else:
                number = Decimal(stripped)
        except InvalidOperation:
            number = Decimal(-1)
        if not number.is_finite() or number < 0 or number != number.to_integral_value():
            raise InputError(f"{parameter.name} {text!r} is not a whole number of basis points (15000, or 150%; "
                             f"1 bps = 0.01%)")
        return int(number)
    address = parse_address(text, parameter.name)
    if int(address, 16) == 0:
        raise InputError("arbiter 0x0000000000000000000000000000000000000000 would leave disputes with nobody to "
                         "judge them: ProtocolParams refuses it (ZeroArbiter); name an account")
    return address


def _known() -> str:
    return ", ".join(p.name for p in PARAMETERS)


def parse_set(text: str) -> tuple[Parameter, str]:
    name, equals, value = text.partition("=")
    if not equals or not name.strip() or not value.strip():
        raise InputError(f"--set {text!r} is not NAME=VALUE (for example --set collateral_ratio_bps=20000)")
    parameter = BY_NAME.get(name.strip().lower().replace("-", "_"))
    if parameter is None:
        raise InputError(f"no parameter is named {name.strip()!r}: the parameters are {_known()}")
    return parameter, value.strip()


def current_values(app: App) -> dict[str, Any]:
    params = app.contracts.params.functions
    return {p.name: getattr(params, p.getter)().call() for p in PARAMETERS}


def check_changes(app: App, changes: list[tuple[Parameter, Any]]) -> None:
    """Refuses, before anything is sent, a change the timelock's call would revert at
    execution: a value outside the deployment's bounds, an unbonding period below the
    challenge window, slash shares above the whole (each in the order the proposal runs)."""
    params = app.contracts.params.functions
    values = current_values(app)
    seen: set[str] = set()
    for parameter, value in changes:
        if parameter.name in seen:
            raise InputError(f"{parameter.name} is set twice: set each parameter once per proposal")
        seen.add(parameter.name)
        if parameter.index is not None:
            low, high = params.bounds(parameter.index).call()
            if not low <= value <= high:
                raise InputError(
                    f"{parameter.name} = {show(parameter, value)} is outside its bounds, {show(parameter, low)} to "
                    f"{show(parameter, high)}, fixed at deployment: the proposal would pass its vote and fail at "
                    f"execution (ParameterOutOfBounds); choose a value within them")
        values[parameter.name] = value
        if parameter.name in ("unbonding_period_seconds", "challenge_window_seconds") and \
                values["unbonding_period_seconds"] < values["challenge_window_seconds"]:
            raise InputError(
                f"the unbonding period ({values['unbonding_period_seconds']} s) would be shorter than the challenge "
                f"window ({values['challenge_window_seconds']} s), which ProtocolParams refuses "
                f"(UnbondingPeriodBelowChallengeWindow): lengthen the unbonding period first (earlier in the "
                f"same proposal)")
        if parameter.name in ("buyer_share_bps", "reporter_share_bps") and \
                values["buyer_share_bps"] + values["reporter_share_bps"] > BPS_WHOLE:
            raise InputError(
                f"the buyer's share ({values['buyer_share_bps']} bps) and the reporter's "
                f"({values['reporter_share_bps']} bps) would exceed the whole slash (10000 bps), which ProtocolParams "
                f"refuses (SlashSharesExceedWhole): lower the other share first (earlier in the same proposal)")


def proposal_id_of(text: str) -> int:
    try:
        value = int(text.strip(), 0)
    except ValueError:
        raise InputError(f"{text!r} is not a proposal id (a decimal number, as `agora gov status` prints it)") from None
    if not 0 <= value < 2**256:
        raise InputError(f"{text!r} is not a proposal id (a 256-bit number)")
    return value


def _expected(bitmap: bytes | int) -> list[str]:
    bits = int.from_bytes(bitmap, "big") if isinstance(bitmap, (bytes, bytearray)) else int(bitmap)
    return [name for i, name in enumerate(STATES) if bits >> i & 1]


def _sent(app: App, account, call) -> dict:
    """transact, with the governor's state errors explained in words."""
    from agora.chain.contracts import ContractRevert

    try:
        return transact(app, account, call)
    except ContractRevert as exc:
        if exc.name == "GovernorUnexpectedProposalState":
            current = STATES[exc.arguments["current"]] if exc.arguments["current"] < len(STATES) else "unknown"
            wanted = " or ".join(_expected(exc.arguments["expectedStates"]))
            if not wanted:  # propose: the same calls and description were proposed before
                raise InputError(f"proposal {exc.arguments['proposalId']} exists already ({current}): the same "
                                 f"changes with the same description; change the description to propose them "
                                 f"again ({exc})") from None
            raise InputError(f"proposal {exc.arguments['proposalId']} is {current}; {call.fn_name} needs it "
                             f"{wanted} ({exc})") from None
        if exc.name == "GovernorNonexistentProposal":
            raise InputError(f"there is no proposal {exc.arguments['proposalId']} ({exc}): `agora gov status` lists "
                             f"them") from None
        raise


# -- finding proposals ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Proposal:
    proposal_id: int
    proposer: str
    targets: list[str]
    values: list[int]
    calldatas: list[bytes]
    description: str
    block: int

    @property
    def description_hash(self) -> bytes:
        return keccak(text=self.description)

    def arguments(self) -> tuple:
        return (self.targets, self.values, self.calldatas, self.description_hash)


def proposals(app: App) -> list[Proposal]:
    """Every proposal made on this deployment's governor, oldest first, from its
    ProposalCreated events since the deploy block."""
    governor = app.contracts.governor
    logs = governor.events.ProposalCreated().get_logs(from_block=app.deployment.deploy_block, to_block="latest")
    return [Proposal(int(log.args.proposalId), log.args.proposer, list(log.args.targets),
                     [int(v) for v in log.args["values"]], [bytes(c) for c in log.args.calldatas],
                     log.args.description, int(log.blockNumber)) for log in logs]


def find_proposal(app: App, proposal_id: int) -> Proposal:
    for proposal in proposals(app):
        if proposal.proposal_id == proposal_id:
            return proposal
    raise InputError(f"no proposal {proposal_id} was made on the governor at {app.contracts.governor.address} since "
                     f"block {app.deployment.deploy_block}: `agora gov status` lists them")


def _calls(app: App, proposal: Proposal) -> list[str]:
    """The proposal's calls for people: `setCollateralRatioBps(20000)` on ProtocolParams."""
    params = app.contracts.params
    shown = []
    for target, calldata in zip(proposal.targets, proposal.calldatas, strict=True):
        if target.lower() == params.address.lower():
            try:
                function, arguments = params.decode_function_input(calldata)
                shown.append(f"ProtocolParams.{function.fn_name}({', '.join(str(v) for v in arguments.values())})")
                continue
            except ValueError:
                pass
        shown.append(f"{target}: 0x{calldata[:4].hex()}… ({len(calldata)} bytes)")
    return shown


def describe(app: App, proposal: Proposal, now: int) -> dict:
    governor = app.contracts.governor.functions
    pid = proposal.proposal_id
    state = governor.state(pid).call()
    against, for_, abstain = governor.proposalVotes(pid).call()
    snapshot = governor.proposalSnapshot(pid).call()
    deadline = governor.proposalDeadline(pid).call()
    eta = governor.proposalEta(pid).call()
    quorum = governor.quorum(snapshot).call() if snapshot < now else None
    return {"proposal_id": str(pid), "state": STATES[state], "proposer": proposal.proposer,
            "description": proposal.description, "calls": _calls(app, proposal),
            "votes": {"for_wei": str(for_), "against_wei": str(against), "abstain_wei": str(abstain)},
            "quorum_wei": None if quorum is None else str(quorum), "snapshot": snapshot, "deadline": deadline,
            "eta": eta or None, "block": proposal.block}


def _proposal_table(data: dict, now: int):
    votes = data["votes"]
    rows = [("state", data["state"]), ("description", escape(data["description"])),
            ("proposer", data["proposer"]), *(("call", escape(call)) for call in data["calls"]),
            ("for", tokens(int(votes["for_wei"]))), ("against", tokens(int(votes["against_wei"]))),
            ("abstain", tokens(int(votes["abstain_wei"])))]
    if data["quorum_wei"] is not None:
        rows.append(("quorum", f"{tokens(int(data['quorum_wei']))} (for + abstain must reach it)"))
    rows += [("voting starts", when(data["snapshot"], now)), ("voting ends", when(data["deadline"], now))]
    if data["eta"]:
        rows.append(("executable from", when(data["eta"], now)))
    return key_value_table(f"{data['state']} proposal", rows)


def _print_proposal(data: dict, now: int) -> None:
    """The id on a line of its own (whole, to copy), then the table."""
    print(f"proposal {data['proposal_id']}")
    console.print(_proposal_table(data, now))


# -- commands -------------------------------------------------------------------------------------


@app.command("delegate")
def delegate(
    to: Annotated[str | None, typer.Argument(metavar="ADDRESS", show_default=False,
                                             help="who votes with your tokens (default: yourself)")] = None,
    json_output: JsonOption = False,
) -> int:
    """Delegate your tokens' votes, to yourself by default (needed to vote).

    Tokens vote only once delegated, and only on proposals made after the delegation
    (votes count at the proposal's snapshot)."""
    app_ = open_app()
    account = load_account(app_)
    delegatee = parse_address(to, "delegate") if to is not None else account.address
    token = app_.contracts.token
    receipt = transact(app_, account, token.functions.delegate(delegatee))
    power = token.functions.getVotes(delegatee).call()
    data = {"delegator": account.address, "delegate": delegatee, "delegate_votes_wei": str(power),
            **receipt_data(receipt)}
    emit_line(data, json_output=json_output,
              line=f"{account.address} delegated its votes to {delegatee}, whose voting power is now "
                   f"{tokens(power)} tokens")
    return 0


@app.command("propose")
def propose(
    sets: Annotated[list[str], typer.Option("--set", metavar="NAME=VALUE", show_default=False,
                                            help="a parameter and its new value, in its unit: tokens for "
                                                 "min_provider_stake, dispute_bond, min_job_collateral (12.5); "
                                                 "seconds (90, 5m, 2h, 7d); basis points (15000 or 150%); an "
                                                 "address for arbiter. Repeat for several.")],
    description: Annotated[str, typer.Option("--description", metavar="TEXT", show_default=False,
                                             help="what the proposal does and why (its id is the hash of "
                                                  "its calls and this text)")],
    json_output: JsonOption = False,
) -> int:
    """Propose changes to protocol parameters (`agora gov params` lists them and their bounds)."""
    if not description.strip():
        raise InputError("--description is empty: say what the proposal does and why")
    parsed = [parse_set(text) for text in sets]
    changes = [(parameter, parse_value(parameter, value)) for parameter, value in parsed]
    app_ = open_app()
    check_changes(app_, changes)
    params = app_.contracts.params
    governor = app_.contracts.governor
    account = load_account(app_)
    threshold = governor.functions.proposalThreshold().call()
    if threshold:
        votes = governor.functions.getVotes(account.address, governor.functions.clock().call() - 1).call()
        if votes < threshold:
            raise InputError(f"{account.address} has {tokens(votes)} votes, below the proposal threshold of "
                             f"{tokens(threshold)}: delegate to yourself (agora gov delegate) or be delegated to")
    old = current_values(app_)
    targets = [params.address] * len(changes)
    values = [0] * len(changes)
    calldatas = [bytes.fromhex(params.encode_abi(parameter.setter, args=[value])[2:])
                 for parameter, value in changes]
    call = governor.functions.propose(targets, values, calldatas, description)
    receipt = _sent(app_, account, call)
    proposal_id = governor.functions.hashProposal(targets, values, calldatas, keccak(text=description)).call()
    snapshot = governor.functions.proposalSnapshot(proposal_id).call()
    deadline = governor.functions.proposalDeadline(proposal_id).call()
    data = {"proposal_id": str(proposal_id), "description": description, "targets": targets,
            "changes": [{"parameter": p.name, "old": plain_value(p, old[p.name]), "new": plain_value(p, v)}
                        for p, v in changes],
            "calldatas": calldatas, "snapshot": snapshot, "deadline": deadline, **receipt_data(receipt)}
    now = chain_time(app_.web3)
    rows = [*((p.name, f"{show(p, old[p.name])} -> {show(p, v)}") for p, v in changes),
            ("voting starts", when(snapshot, now)), ("voting ends", when(deadline, now))]
    if json_output:
        emit(data, json_output=True)
    else:
        print(f"proposal {proposal_id}")
        console.print(key_value_table(escape(description), rows))
    return 0


class Support(str, Enum):
    against = "against"
    for_ = "for"
    abstain = "abstain"


SUPPORT = {Support.against: 0, Support.for_: 1, Support.abstain: 2}


@app.command("vote")
def vote(
    proposal: Annotated[str, typer.Argument(metavar="PROPOSAL_ID", help="the proposal's id")],
    support: Annotated[Support, typer.Argument(metavar="for|against|abstain", case_sensitive=False,
                                               help="your vote")],
    reason: Annotated[str | None, typer.Option("--reason", metavar="TEXT", show_default=False,
                                               help="a reason, recorded on chain with the vote")] = None,
    json_output: JsonOption = False,
) -> int:
    """Vote on a proposal with the votes delegated to you at its snapshot."""
    proposal_id = proposal_id_of(proposal)
    app_ = open_app()
    account = load_account(app_)
    governor = app_.contracts.governor
    choice = SUPPORT[support]
    call = (governor.functions.castVoteWithReason(proposal_id, choice, reason) if reason is not None
            else governor.functions.castVote(proposal_id, choice))
    receipt = _sent(app_, account, call)
    from web3.logs import DISCARD

    cast = governor.events.VoteCast().process_receipt(receipt, errors=DISCARD)
    weight = int(cast[0].args.weight) if cast else 0
    data = {"proposal_id": str(proposal_id), "voter": account.address, "support": support.value,
            "weight_wei": str(weight), "reason": reason, **receipt_data(receipt)}
    line = f"voted {support.value} on proposal {proposal_id} with {tokens(weight)} votes"
    if weight == 0:
        line += (" (you had no votes at its snapshot: delegate before a proposal is made, e.g. `agora gov "
                 "delegate`)")
    emit_line(data, json_output=json_output, line=line)
    return 0


@app.command("queue")
def queue(proposal: Annotated[str, typer.Argument(metavar="PROPOSAL_ID", help="the proposal's id")],
          json_output: JsonOption = False) -> int:
    """Queue a proposal that passed in the timelock (anyone may); it executes after the delay."""
    proposal_id = proposal_id_of(proposal)
    app_ = open_app()
    found = find_proposal(app_, proposal_id)
    account = load_account(app_)
    governor = app_.contracts.governor
    receipt = _sent(app_, account, governor.functions.queue(*found.arguments()))
    eta = governor.functions.proposalEta(proposal_id).call()
    data = {"proposal_id": str(proposal_id), "eta": eta, **receipt_data(receipt)}
    emit_line(data, json_output=json_output,
              line=f"proposal {proposal_id} queued: executable from {when(eta, chain_time(app_.web3))}")
    return 0


@app.command("execute")
def execute(proposal: Annotated[str, typer.Argument(metavar="PROPOSAL_ID", help="the proposal's id")],
            json_output: JsonOption = False) -> int:
    """Execute a queued proposal once the timelock's delay has passed (anyone may)."""
    proposal_id = proposal_id_of(proposal)
    app_ = open_app()
    found = find_proposal(app_, proposal_id)
    governor = app_.contracts.governor
    state = STATES[governor.functions.state(proposal_id).call()]
    if state == "Queued":
        eta = governor.functions.proposalEta(proposal_id).call()
        pending = int(app_.web3.eth.get_block("pending")["timestamp"])
        if pending < eta:
            raise InputError(f"proposal {proposal_id} is queued; the timelock lets it execute from "
                             f"{when(eta, chain_time(app_.web3))}: try again then")
    account = load_account(app_)
    receipt = _sent(app_, account, governor.functions.execute(*found.arguments()))
    data = {"proposal_id": str(proposal_id), "calls": _calls(app_, found), **receipt_data(receipt)}
    emit_line(data, json_output=json_output, line=f"proposal {proposal_id} executed: " + "; ".join(data["calls"]))
    return 0


@app.command("status")
def status(
    proposal: Annotated[str | None, typer.Argument(metavar="PROPOSAL_ID", show_default=False,
                                                   help="one proposal (default: every proposal)")] = None,
    json_output: JsonOption = False,
) -> int:
    """Show a proposal, or every proposal: its state, votes, voting times and when it can execute."""
    app_ = open_app()
    now = chain_time(app_.web3)
    if proposal is not None:
        data = describe(app_, find_proposal(app_, proposal_id_of(proposal)), now)
        if json_output:
            emit(data, json_output=True)
        else:
            _print_proposal(data, now)
        return 0
    every = [describe(app_, p, now) for p in proposals(app_)]
    if json_output:
        emit({"proposals": every}, json_output=True)
    elif not every:
        print("no proposals yet (make one with `agora gov propose`)")
    else:
        for data in every:
            _print_proposal(data, now)
    return 0


@app.command("params")
def params_(json_output: JsonOption = False) -> int:
    """Show every protocol parameter with its bounds, and the governor's own settings.

    The title names the parameter version in force: a job settles under the version of
    its match, whatever is voted later."""
    app_ = open_app()
    contracts = app_.contracts
    functions = contracts.params.functions
    values = current_values(app_)
    parameters: dict[str, dict] = {}
    from rich.table import Table

    table = Table(title=f"protocol parameters (version {functions.version().call()})", title_justify="left")
    table.add_column("parameter", no_wrap=True)
    table.add_column("value", overflow="fold")
    table.add_column("bounds")
    for parameter in PARAMETERS:
        value = values[parameter.name]
        entry: dict[str, Any] = {"value": plain_value(parameter, value), "unit": "wei" if parameter.unit == "tokens"
                                 else parameter.unit}
        bounds_text = "any non-zero address"
        if parameter.index is not None:
            low, high = functions.bounds(parameter.index).call()
            entry.update(min=plain_value(parameter, low), max=plain_value(parameter, high))
            bounds_text = show_range(parameter, low, high)
        parameters[parameter.name] = entry
        table.add_row(parameter.name, show(parameter, value), bounds_text)
    governor = contracts.governor.functions
    governance: dict[str, dict] = {}
    for index, (name, getter, unit) in enumerate(GOVERNOR_SETTINGS):
        value = getattr(governor, getter)().call()
        low, high = governor.settingBounds(index).call()
        governance[name] = {"value": plain_value(unit, value), "min": plain_value(unit, low),
                            "max": plain_value(unit, high), "unit": "wei" if unit == "tokens" else unit}
        table.add_row(name, show(unit, value), show_range(unit, low, high))
    delay = contracts.timelock.functions.getMinDelay().call()
    low, high = contracts.timelock.functions.delayBounds().call()
    governance["timelock_delay_seconds"] = {"value": delay, "min": low, "max": high, "unit": "seconds"}
    table.add_row("timelock_delay_seconds", show("seconds", delay), show_range("seconds", low, high))
    data = {"version": functions.version().call(), "parameters": parameters, "governance": governance}
    emit(data, json_output=json_output, table=table)
    return 0
