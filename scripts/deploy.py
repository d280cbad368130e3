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
    AGORA_ARBITER        the first arbiter (devnet default: the node's account 9; mainnet:
                         none until governance picks one)
    AGORA_DEPLOYMENTS_DIR  directory of deployment files (default: deployments/), as the services read it
    AGORA_REDEPLOY=1     deploy again although a live deployment is recorded for this chain
                         (the old contracts are left as they are; its file is archived)

At the end the deployer holds no role, no token and no power: the timelock's admin role
is renounced, the governor is its only proposer and canceller, anyone may execute.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT / "backend") not in sys.path:
    sys.path.insert(0, str(ROOT / "backend"))

from agora.chain.addresses import create_address  # noqa: E402
from agora.chain.deployment import deployment_path, write  # noqa: E402
from agora.chain.protocol import PROFILES, TOKEN, Profile  # noqa: E402

ZERO = "0x0000000000000000000000000000000000000000"


class DeployError(RuntimeError):
    """The deployment cannot go ahead as configured."""


def _say(quiet: bool, message: str) -> None:
    if not quiet:
        print(message, flush=True)


def live_deployment(web3, directory: Path, chain_id: int) -> dict | None:
    """The recorded deployment for this chain if its contracts are still there."""
    path = deployment_path(directory, chain_id)
    if not path.exists():
        return None
    data = json.loads(path.read_text())
    market = data["contracts"]["JobMarket"]["address"]
    return data if len(web3.eth.get_code(market)) > 0 else None


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
) -> dict:
    """Deploys and wires everything; returns the deployment record (also written to disk).

    `contracts` holds the brownie contract containers (the project, or `brownie` itself);
    `distribution` maps addresses to token wei.
    """
    from brownie import chain, web3

    chain_id = chain.id
    existing = live_deployment(web3, directory, chain_id)
    if existing and not redeploy:
        _say(quiet, f"Agora is already deployed on chain {chain_id} (market {existing['contracts']['JobMarket']['address']}); "
                    "nothing to do. Set AGORA_REDEPLOY=1 to deploy a second, separate copy.")
        return existing

    supply = profile.token_supply
    handed_out = sum(distribution.values())
    if handed_out > supply:
        raise DeployError(f"the distribution hands out {handed_out / TOKEN:,.0f} tokens of a {supply / TOKEN:,.0f} supply")
    if arbiter == str(deployer.address):
        raise DeployError("the arbiter must not be the deployer: no power may stay with the deployer")

    opts = {"from": deployer, **(tx_options or {})}
    g = profile.governance
    p = profile.params
    deploy_block = web3.eth.block_number + 1

    _say(quiet, f"Deploying Agora ({profile.name}) on chain {chain_id} from {deployer.address}")
    token = contracts.AgoraToken.deploy(deployer, supply, opts)
    timelock = contracts.TimelockController.deploy(g.timelock_delay_seconds, [], [ZERO], deployer, opts)
    governor = contracts.AgoraGovernor.deploy(
        token, timelock, g.voting_delay_seconds, g.voting_period_seconds, g.proposal_threshold, g.quorum_percent, opts
    )
    params = contracts.ProtocolParams.deploy(
        timelock, p.mins.as_tuple(), p.maxs.as_tuple(), p.initial.as_tuple(), arbiter, opts
    )
    # The registry takes the market's address at construction (no setter exists): the
    # market is the deployer's next contract. The market checks it in its constructor.
    market_address = create_address(str(deployer.address), deployer.nonce + 1)
    registry = contracts.ProviderRegistry.deploy(token, params, market_address, opts)
    market = contracts.JobMarket.deploy(token, params, registry, opts)
    if str(market.address) != market_address:
        raise DeployError(f"market deployed at {market.address}, registry expects {market_address}")

    timelock.grantRole(timelock.PROPOSER_ROLE(), governor, opts)
    timelock.grantRole(timelock.CANCELLER_ROLE(), governor, opts)
    for address, amount in distribution.items():
        token.transfer(address, amount, opts)
    remainder = token.balanceOf(deployer)
    if remainder:
        token.transfer(timelock, remainder, opts)
    timelock.renounceRole(timelock.DEFAULT_ADMIN_ROLE(), deployer, opts)

    deployed = {
        "AgoraToken": token,
        "TimelockController": timelock,
        "AgoraGovernor": governor,
        "ProtocolParams": params,
        "ProviderRegistry": registry,
        "JobMarket": market,
    }
    record = {
        "chainId": chain_id,
        "deployBlock": deploy_block,
        "profile": profile.name,
        "deployer": str(deployer.address),
        "treasury": str(timelock.address),
        "arbiter": arbiter,
        "contracts": {
            name: {"address": str(c.address), "abi": f"build/contracts/{name}.json"} for name, c in deployed.items()
        },
        "governance": {
            "votingDelaySeconds": g.voting_delay_seconds,
            "votingPeriodSeconds": g.voting_period_seconds,
            "proposalThreshold": str(g.proposal_threshold),
            "quorumPercent": g.quorum_percent,
            "timelockDelaySeconds": g.timelock_delay_seconds,
        },
        "distribution": {address: str(amount) for address, amount in distribution.items()},
    }
    path = deployment_path(directory, chain_id)
    if path.exists():
        archived = path.with_name(f"{chain_id}.{deploy_block}.previous.json")
        path.rename(archived)
        _say(quiet, f"  previous deployment file kept as {archived.name}")
    write(directory, record)
    for name, c in deployed.items():
        _say(quiet, f"  {name:<20} {c.address}")
    _say(quiet, f"  deployment file      {path}")
    return record


def config_from_env(accounts) -> dict:
    """Reads AGORA_* settings; returns deploy()'s keyword arguments and the deployer."""
    name = os.environ.get("AGORA_PROFILE", "devnet")
    if name not in PROFILES:
        raise DeployError(f"unknown AGORA_PROFILE {name!r}: choose one of {', '.join(PROFILES)}")
    profile = PROFILES[name]
    key = os.environ.get("AGORA_DEPLOYER_KEY")
    deployer = accounts.add(key) if key else accounts[0]

    if path := os.environ.get("AGORA_DISTRIBUTION"):
        try:
            raw = json.loads(Path(path).read_text())
        except (OSError, ValueError) as exc:
            raise DeployError(f"cannot read AGORA_DISTRIBUTION {path}: {exc}") from exc
        distribution = {address: int(tokens) * TOKEN for address, tokens in raw.items()}
    elif name == "devnet":
        distribution = {str(a.address): 100_000_000 * TOKEN for a in list(accounts)[1:9]}
    else:
        distribution = {}

    arbiter = os.environ.get("AGORA_ARBITER")
    if arbiter is None:
        arbiter = str(accounts[9].address) if name == "devnet" and len(accounts) > 9 else ZERO
    return {
        "deployer": deployer,
        "profile": profile,
        "distribution": distribution,
        "arbiter": arbiter,
        "directory": Path(os.environ.get("AGORA_DEPLOYMENTS_DIR", ROOT / "deployments")),
        "redeploy": os.environ.get("AGORA_REDEPLOY") == "1",
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
