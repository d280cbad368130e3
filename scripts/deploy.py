"""Deploys Agora: token, timelock, governor, parameters, registry and market; wires them,
hands every privilege to the timelock, distributes the tokens and writes the deployment
file (`deployments/<chain id>.json`) the Python services read.

    brownie run scripts/deploy.py --network <network>

Configuration (environment):
    AGORA_PROFILE        devnet (seconds-long governance, local bounds) or mainnet
                         (1 day delay, 1 week vote, 4% quorum, 2 day timelock, DESIGN bounds)
    AGORA_DEPLOYER_KEY   private key of the deployer (default: the node's first account)
    AGORA_DISTRIBUTION   JSON file {"0xaddress": tokens, ...}; the rest goes to the treasury
                         (devnet default: 100M tokens to each of the node's accounts 1-8)
    AGORA_ARBITER        the first arbiter, required (devnet default: the node's account 9);
                         governance can replace it but never remove it
    AGORA_DEPLOYMENTS_DIR  directory of deployment files (default: deployments/), as the services read it
    AGORA_REDEPLOY=1     deploy again although a live deployment is recorded for this chain
                         (the old contracts are left as they are; its file is archived)

At the end the deployer holds no role, no token and no power: the timelock's admin role
is renounced, the governor is its only proposer and canceller, anyone may execute.

Refused before anything is sent (DeployError, one line):
    * an arbiter, or a distribution address, that is not `0x` and 40 hex digits (mixed case
      must match its EIP-55 checksum), an arbiter that is the deployer (compared without
      regard to case), a distribution naming the deployer, the zero address or one address
      twice, or handing out more than the supply;
    * governance settings outside their own bounds (the contracts would refuse them too);
    * an ungovernable distribution. Every token not in the distribution goes to the timelock,
      which cannot vote before a proposal lets it, so a distribution is governable only if
        1. the tokens it hands out (the delegatable supply) are at least the quorum,
           `supply * quorum_percent // 100` (as the governor computes it), and more than
           zero, so a proposal everyone outside the timelock votes for passes; and
        2. one holder alone receives at least the proposal threshold (the governor wants
           `votes >= threshold`), so a proposal can be made without holders first pooling
           their votes by delegation.
      The mainnet profile with no distribution fails both: the whole supply would sit in
      the timelock, nobody could propose, and the arbiter and treasury would stay frozen.

A deploy that fails half-way resumes where it stopped. After each step the script records
its progress in `deployments/<chain id>.partial.json` (the settings it runs with, the
addresses it created, the steps done, and the nonce of a contract creation in flight);
running it again with the same settings checks the recorded contracts have code and picks
up at the first step not done. Role grants, the distribution (counted from the token's
Transfer events) and the renouncement are checked on chain, so no step is done twice even
if the script stopped between a transaction and its record. Until the run finishes the
deployer still holds the timelock's admin role and the undistributed tokens: finish it.
Once the last step is done the script checks the deployer holds no role and no token,
writes the deployment file and deletes the partial one.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

from eth_utils import is_checksum_address, keccak, to_checksum_address  # noqa: E402

from agora.chain.addresses import create_address  # noqa: E402
from agora.chain.deployment import deployment_path, write  # noqa: E402
from agora.market.protocol import PROFILES, TOKEN, Profile  # noqa: E402

ZERO = "0x0000000000000000000000000000000000000000"
TRANSFER_TOPIC = "0x" + keccak(text="Transfer(address,address,uint256)").hex().removeprefix("0x")
# The deployment file names each contract by its role; the timelock's artifact is AgoraTimelock.
ARTIFACTS = {
    "AgoraToken": "AgoraToken",
    "TimelockController": "AgoraTimelock",
    "AgoraGovernor": "AgoraGovernor",
    "ProtocolParams": "ProtocolParams",
    "ProviderRegistry": "ProviderRegistry",
    "JobMarket": "JobMarket",
}
# The steps of a deployment, in order; the partial deployment file records those done.
STEPS = ("token", "timelock", "governor", "params", "registry+market", "proposer", "canceller",
         "distribution", "treasury", "renounce")


class DeployError(RuntimeError):
    """The deployment cannot go ahead as configured."""


def _say(quiet: bool, message: str) -> None:
    if not quiet:
        print(message, flush=True)


def _tokens(wei: int) -> str:
    whole, fraction = divmod(wei, TOKEN)
    return f"{whole:,}" + (f".{fraction:018d}".rstrip("0") if fraction else "")


def partial_deployment_path(directory: Path, chain_id: int) -> Path:
    return Path(directory) / f"{chain_id}.partial.json"


def live_deployment(web3, directory: Path, chain_id: int) -> dict | None:
    """The recorded deployment for this chain if its contracts are still there."""
    path = deployment_path(directory, chain_id)
    if not path.exists():
        return None
    data = json.loads(path.read_text())
    market = data["contracts"]["JobMarket"]["address"]
    return data if len(web3.eth.get_code(market)) > 0 else None


# ---------------------------------------------------------------- checks before deploying


def checked_address(value, what: str) -> str:
    """`value` as a checksummed address, or a DeployError naming `what`."""
    if not isinstance(value, str) or not re.fullmatch(r"0x[0-9a-fA-F]{40}", value):
        raise DeployError(f"{what} {value!r} is not an address: expected 0x and 40 hex digits")
    digits = value[2:]
    if digits not in (digits.lower(), digits.upper()) and not is_checksum_address(value):
        raise DeployError(f"{what} {value} has mixed case that does not match its EIP-55 checksum "
                          f"({to_checksum_address(value)}); check the address")
    return to_checksum_address(value)


def checked_distribution(distribution: dict, profile: Profile, deployer: str) -> dict[str, int]:
    """The distribution with checksummed addresses; refuses bad entries and an ungovernable whole."""
    result: dict[str, int] = {}
    for raw, amount in distribution.items():
        address = checked_address(raw, "distribution address")
        if address == ZERO:
            raise DeployError("the distribution names the zero address, which cannot receive tokens")
        if address == deployer:
            raise DeployError(f"the distribution names the deployer {deployer}: no tokens may stay with the deployer")
        if address in result:
            raise DeployError(f"the distribution names {address} twice (addresses compare without regard to case)")
        if not isinstance(amount, int) or amount < 0:
            raise DeployError(f"the distribution gives {address} {amount!r}: amounts are whole token wei, not negative")
        result[address] = amount

    supply = profile.token_supply
    handed_out = sum(result.values())
    if handed_out > supply:
        raise DeployError(f"the distribution hands out {_tokens(handed_out)} tokens of a {_tokens(supply)} supply")
    g = profile.governance
    quorum = supply * g.quorum_percent // 100
    largest = max(result.values(), default=0)
    problems = []
    if handed_out < max(quorum, 1):
        problems.append(f"it hands out {_tokens(handed_out)} tokens and the rest stays in the timelock, "
                        f"below the {g.quorum_percent}% quorum of {_tokens(quorum)}")
    if largest < g.proposal_threshold:
        problems.append(f"no holder gets the {_tokens(g.proposal_threshold)}-token proposal threshold "
                        f"(largest share: {_tokens(largest)})")
    if problems:
        raise DeployError(f"nobody could govern this deployment ({profile.name} profile): "
                          + "; ".join(problems) + "; set AGORA_DISTRIBUTION")
    return result


def checked_arbiter(arbiter, deployer: str) -> str:
    address = checked_address(arbiter, "the arbiter")
    if address == ZERO:
        raise DeployError("no arbiter named: set AGORA_ARBITER to the first arbiter (the market takes no work "
                          "nobody could judge; governance can replace the arbiter, never remove it)")
    if address == deployer:
        raise DeployError("the arbiter must not be the deployer: no power may stay with the deployer")
    return address


def _settings(profile: Profile, deployer: str, arbiter: str, distribution: dict[str, int]) -> dict:
    """What a run is configured by, as JSON: a resumed run must match the one that started."""
    g = profile.governance
    return {
        "profile": profile.name,
        "deployer": deployer,
        "arbiter": arbiter,
        "tokenSupply": str(profile.token_supply),
        "distribution": {address: str(amount) for address, amount in distribution.items()},
        "governance": _governance_record(g),
        "params": {
            "mins": [str(v) for v in profile.params.mins.as_tuple()],
            "maxs": [str(v) for v in profile.params.maxs.as_tuple()],
            "initial": [str(v) for v in profile.params.initial.as_tuple()],
        },
    }


def _governance_record(g) -> dict:
    def bound(r, as_text=False):
        return {"min": str(r.min), "max": str(r.max)} if as_text else {"min": r.min, "max": r.max}

    return {
        "votingDelaySeconds": g.voting_delay_seconds,
        "votingPeriodSeconds": g.voting_period_seconds,
        "proposalThreshold": str(g.proposal_threshold),
        "quorumPercent": g.quorum_percent,
        "timelockDelaySeconds": g.timelock_delay_seconds,
        "bounds": {
            "votingDelaySeconds": bound(g.voting_delay_bounds),
            "votingPeriodSeconds": bound(g.voting_period_bounds),
            "proposalThreshold": bound(g.proposal_threshold_bounds, as_text=True),
            "quorumPercent": bound(g.quorum_percent_bounds),
            "timelockDelaySeconds": bound(g.timelock_delay_bounds),
        },
    }


# ---------------------------------------------------------------- progress


class _Progress:
    """The partial deployment file: settings, addresses created, steps done."""

    def __init__(self, path: Path, state: dict, on_step: Callable[[str], None] | None):
        self.path = path
        self.state = state
        self.on_step = on_step

    @classmethod
    def open(cls, web3, path: Path, chain_id: int, settings: dict, on_step, quiet: bool) -> _Progress:
        if path.exists():
            state = json.loads(path.read_text())
            changed = sorted(k for k in settings if state["settings"].get(k) != settings[k])
            if changed:
                raise DeployError(f"{path} records an unfinished deployment started with other settings "
                                  f"({', '.join(changed)} differ): rerun with the same settings to finish it")
            addresses = state["contracts"]
            missing = [name for name, address in addresses.items() if len(web3.eth.get_code(address)) == 0]
            if addresses and len(missing) == len(addresses):
                stale = path.with_name(f"{chain_id}.partial.stale.json")
                path.rename(stale)
                _say(quiet, f"  {path.name} names no contract this chain holds (a reset node?); kept as {stale.name}, "
                            "starting afresh")
            elif missing:
                raise DeployError(f"{path} records {', '.join(missing)} but this chain holds no code there; "
                                  "is this the node the deployment started on?")
            else:
                _say(quiet, f"  resuming the deployment recorded in {path.name} (done: {', '.join(state['done']) or 'nothing'})")
                return cls(path, state, on_step)
        state = {"chainId": chain_id, "deployBlock": web3.eth.block_number + 1, "settings": settings,
                 "contracts": {}, "done": [], "pending": None}
        progress = cls(path, state, on_step)
        progress.save()
        return progress

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text(json.dumps(self.state, indent=2) + "\n")
        tmp.replace(self.path)  # never a half-written progress file

    def done(self, step: str) -> bool:
        return step in self.state["done"]

    def pending(self, step: str) -> int | None:
        """The deployer nonce of this step's contract creation, if one was sent and not recorded."""
        pending = self.state.get("pending")
        return pending["nonce"] if pending and pending["step"] == step else None

    def begin(self, step: str, nonce: int) -> None:
        self.state["pending"] = {"step": step, "nonce": nonce}
        self.save()

    def finish(self, step: str, **addresses: str) -> None:
        self.state["contracts"].update({name: str(address) for name, address in addresses.items()})
        self.state["done"].append(step)
        self.state["pending"] = None
        self.save()
        if self.on_step is not None:
            self.on_step(step)


def _has_code(web3, address: str) -> bool:
    return len(web3.eth.get_code(address)) > 0


def _sent_by(web3, token, sender: str, from_block: int) -> dict[str, int]:
    """Tokens `sender` has transferred to each address, from the token's Transfer events."""
    logs = web3.eth.get_logs({
        "address": str(token.address), "fromBlock": from_block, "toBlock": "latest",
        "topics": [TRANSFER_TOPIC, "0x" + "0" * 24 + sender[2:].lower()],
    })
    sent: dict[str, int] = {}
    for log in logs:
        to = to_checksum_address("0x" + bytes(log["topics"][2])[-20:].hex())
        sent[to] = sent.get(to, 0) + int.from_bytes(bytes(log["data"]), "big")
    return sent


# ---------------------------------------------------------------- deploy


def deploy(
    contracts,
    deployer,
    *,
    profile: Profile,
    distribution: dict[str, int],
    arbiter: str = ZERO,
    directory: Path = ROOT / "deployments",
    redeploy: bool = False,
    quiet: bool = False,
    tx_options: dict | None = None,
    on_step: Callable[[str], None] | None = None,
) -> dict:
    """Deploys and wires everything; returns the deployment record (also written to disk).

    `contracts` holds the brownie contract containers (the project, or `brownie` itself);
    `distribution` maps addresses to token wei. Refuses (DeployError) a bad arbiter or
    distribution and an ungovernable one (see the module's docstring for the exact rules)
    before sending anything. Resumes an unfinished deployment recorded in
    `<directory>/<chain id>.partial.json`. `on_step(name)` is called after each step of
    `STEPS` is recorded (progress reporting; the tests stop a deployment half-way with it).
    """
    from brownie import chain, web3

    chain_id = chain.id
    partial = partial_deployment_path(directory, chain_id)
    existing = live_deployment(web3, directory, chain_id)
    if existing and not redeploy and not partial.exists():
        _say(quiet, f"Agora is already deployed on chain {chain_id} (market {existing['contracts']['JobMarket']['address']}); "
                    "nothing to do. Set AGORA_REDEPLOY=1 to deploy a second, separate copy.")
        return existing

    me = to_checksum_address(str(deployer.address))
    distribution = checked_distribution(distribution, profile, me)
    arbiter = checked_arbiter(arbiter, me)
    g = profile.governance
    p = profile.params
    if problems := g.out_of_bounds():
        raise DeployError(f"the {profile.name} profile's governance settings are outside their bounds: {'; '.join(problems)}")

    opts = {"from": deployer, **(tx_options or {})}
    _say(quiet, f"Deploying Agora ({profile.name}) on chain {chain_id} from {me}")
    progress = _Progress.open(web3, partial, chain_id, _settings(profile, me, arbiter, distribution), on_step, quiet)
    at = progress.state["contracts"]

    def create(step: str, name: str, container, *args):
        """Deploys one contract, or picks up the one this step recorded or had in flight."""
        if progress.done(step):
            return container.at(at[name])
        nonce = progress.pending(step)
        if nonce is not None and _has_code(web3, create_address(me, nonce)):
            contract = container.at(create_address(me, nonce))
        else:
            progress.begin(step, deployer.nonce)
            contract = container.deploy(*args, opts)
        progress.finish(step, **{name: contract.address})
        return contract

    token = create("token", "AgoraToken", contracts.AgoraToken, deployer, profile.token_supply)
    timelock = create("timelock", "TimelockController", contracts.AgoraTimelock, g.timelock_delay_seconds,
                      *g.timelock_delay_bounds.as_tuple(), [], [ZERO], deployer)
    governor = create("governor", "AgoraGovernor", contracts.AgoraGovernor, token, timelock, g.voting_delay_seconds,
                      g.voting_period_seconds, g.proposal_threshold, g.quorum_percent, g.governor_bounds())
    params = create("params", "ProtocolParams", contracts.ProtocolParams, timelock, p.mins.as_tuple(),
                    p.maxs.as_tuple(), p.initial.as_tuple(), arbiter)

    # The registry takes the market's address at construction (no setter exists): the
    # market is the deployer's next contract, and the market checks it in its constructor.
    # So the two are one step: if it stopped between them, both are made again. A registry
    # left behind holds nothing, and the market it names is the address the retry gives to
    # the new registry, which never calls it: nothing can use it.
    step = "registry+market"
    if progress.done(step):
        registry = contracts.ProviderRegistry.at(at["ProviderRegistry"])
        market = contracts.JobMarket.at(at["JobMarket"])
    else:
        nonce = progress.pending(step)
        if nonce is not None and _has_code(web3, create_address(me, nonce + 1)):
            registry = contracts.ProviderRegistry.at(create_address(me, nonce))
            market = contracts.JobMarket.at(create_address(me, nonce + 1))
        else:
            nonce = deployer.nonce
            progress.begin(step, nonce)
            registry = contracts.ProviderRegistry.deploy(token, params, create_address(me, nonce + 1), opts)
            market = contracts.JobMarket.deploy(token, params, registry, opts)
        if str(market.address) != create_address(me, nonce + 1):
            raise DeployError(f"market deployed at {market.address}, registry expects {create_address(me, nonce + 1)}")
        progress.finish(step, ProviderRegistry=registry.address, JobMarket=market.address)

    # The remaining steps check the chain, not only the record, so none is done twice.
    for step, role in (("proposer", timelock.PROPOSER_ROLE()), ("canceller", timelock.CANCELLER_ROLE())):
        if not progress.done(step):
            if not timelock.hasRole(role, governor):
                timelock.grantRole(role, governor, opts)
            progress.finish(step)

    if not progress.done("distribution"):
        sent = _sent_by(web3, token, me, progress.state["deployBlock"])
        for address, amount in distribution.items():
            owed = amount - sent.get(address, 0)
            if owed > 0:
                token.transfer(address, owed, opts)
        progress.finish("distribution")

    if not progress.done("treasury"):
        remainder = token.balanceOf(deployer)
        if remainder:
            token.transfer(timelock, remainder, opts)
        progress.finish("treasury")

    if not progress.done("renounce"):
        admin = timelock.DEFAULT_ADMIN_ROLE()
        if timelock.hasRole(admin, deployer):
            timelock.renounceRole(admin, deployer, opts)
        progress.finish("renounce")

    roles = ("DEFAULT_ADMIN_ROLE", "PROPOSER_ROLE", "CANCELLER_ROLE", "EXECUTOR_ROLE")
    kept = [r for r in roles if timelock.hasRole(getattr(timelock, r)(), deployer)]
    if kept or token.balanceOf(deployer):
        raise DeployError(f"the deployer still holds {', '.join(kept) or 'tokens'} after the last step; "
                          f"{partial} records the run")

    deployed = {
        "AgoraToken": token,
        "TimelockController": timelock,
        "AgoraGovernor": governor,
        "ProtocolParams": params,
        "ProviderRegistry": registry,
        "JobMarket": market,
    }
    deploy_block = progress.state["deployBlock"]
    record = {
        "chainId": chain_id,
        "deployBlock": deploy_block,
        "profile": profile.name,
        "deployer": me,
        "treasury": str(timelock.address),
        "arbiter": arbiter,
        "contracts": {
            name: {"address": str(c.address), "abi": f"build/contracts/{ARTIFACTS[name]}.json"}
            for name, c in deployed.items()
        },
        "governance": _governance_record(g),
        "distribution": {address: str(amount) for address, amount in distribution.items()},
    }
    path = deployment_path(directory, chain_id)
    if path.exists():
        archived = path.with_name(f"{chain_id}.{deploy_block}.previous.json")
        path.rename(archived)
        _say(quiet, f"  previous deployment file kept as {archived.name}")
    write(directory, record)
    partial.unlink()
    for name, c in deployed.items():
        _say(quiet, f"  {name:<20} {c.address}")
    _say(quiet, f"  deployment file      {path}")
    return record


def config_from_env(accounts) -> dict:
    """Reads the deploy settings (agora.config.DeploySettings: AGORA_PROFILE, ...);
    returns deploy()'s keyword arguments and the deployer."""
    from agora.config import Settings
    from agora.errors import ConfigError

    try:
        settings = Settings()
    except ConfigError as exc:
        raise DeployError(str(exc)) from None
    s = settings.deploy
    name = s.profile
    if name not in PROFILES:
        raise DeployError(f"unknown AGORA_PROFILE {name!r}: choose one of {', '.join(PROFILES)}")
    profile = PROFILES[name]
    deployer = accounts.add(s.deployer_key.get_secret_value()) if s.deployer_key else accounts[0]

    if path := s.distribution:
        try:
            raw = json.loads(Path(path).read_text())
            distribution = {address: int(tokens) * TOKEN for address, tokens in raw.items()}
        except (OSError, ValueError, TypeError, AttributeError) as exc:
            raise DeployError(f"cannot read AGORA_DISTRIBUTION {path} as {{\"0xaddress\": tokens}}: {exc}") from exc
    elif name == "devnet":
        distribution = {str(a.address): 100_000_000 * TOKEN for a in list(accounts)[1:9]}
    else:
        distribution = {}

    arbiter = s.arbiter
    if arbiter is None:
        arbiter = str(accounts[9].address) if name == "devnet" and len(accounts) > 9 else ZERO
    return {
        "deployer": deployer,
        "profile": profile,
        "distribution": distribution,
        "arbiter": arbiter,
        "directory": Path(settings.chain.deployments_dir),
        "redeploy": s.redeploy,
    }


def main():
    import brownie
    from brownie import accounts

    try:
        config = config_from_env(accounts)
        deployer = config.pop("deployer")
        return deploy(brownie, deployer, **config)
    except DeployError as exc:
        print(f"deploy: {exc}", file=sys.stderr)
        raise SystemExit(1) from None
