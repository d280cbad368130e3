"""AgoraToken: fixed supply, EIP-2612 permits, and votes on a timestamp clock."""

import pytest
from brownie import chain

from conftest import FUNDS, SUPPLY
from marketkit import reverts, sign_permit


class TestDeployment:
    def test_MintsWholeSupplyToDistributor(self, token, deployer, buyer):
        assert token.totalSupply() == SUPPLY
        assert token.balanceOf(buyer) == FUNDS
        assert token.balanceOf(deployer) == SUPPLY - 6 * FUNDS
        assert (token.name(), token.symbol(), token.decimals()) == ("Agora", "AGR", 18)

    def test_RevertIf_SupplyDoesNotFitUint96(self, AgoraToken, deployer):
        with reverts("SupplyTooLarge", 2**96, 2**96 - 1):
            AgoraToken.deploy(deployer, 2**96, {"from": deployer})

    def test_HasNoMintFunctionAndNoOwner(self, token):
        names = {item["name"] for item in token.abi if item["type"] == "function"}
        assert not names & {"mint", "owner", "transferOwnership", "grantRole"}


class TestClock:
    def test_ClockIsBlockTimestamp(self, token):
        chain.mine()
        assert token.clock() == chain[-1].timestamp

    def test_ClockModeIsTimestamp(self, token):
        assert token.CLOCK_MODE() == "mode=timestamp"


class TestVotes:
    def test_DelegatedVotesAreCheckpointedByTime(self, token, buyer, other_buyer):
        tx = token.delegate(buyer, {"from": buyer})
        delegated_at = tx.timestamp
        assert token.getVotes(buyer) == FUNDS
        chain.sleep(10)
        token.transfer(other_buyer, FUNDS // 4, {"from": buyer})
        chain.sleep(10)
        chain.mine()
        assert token.getPastVotes(buyer, delegated_at) == FUNDS
        assert token.getVotes(buyer) == FUNDS - FUNDS // 4

    def test_UndelegatedBalanceHasNoVotes(self, token, buyer):
        assert token.getVotes(buyer) == 0


class TestPermit:
    @pytest.fixture
    def holder(self, accounts, token, deployer):
        holder = accounts.add()
        token.transfer(holder, 1_000, {"from": deployer})
        return holder

    def test_PermitSetsAllowance(self, token, holder, stranger):
        deadline = chain.time() + 3600
        v, r, s = sign_permit(token, holder, stranger.address, 700, deadline)
        token.permit(holder, stranger, 700, deadline, v, r, s, {"from": stranger})
        assert token.allowance(holder, stranger) == 700
        assert token.nonces(holder) == 1

    def test_RevertIf_PermitReused(self, token, holder, stranger):
        deadline = chain.time() + 3600
        v, r, s = sign_permit(token, holder, stranger.address, 700, deadline)
        token.permit(holder, stranger, 700, deadline, v, r, s, {"from": stranger})
        with brownie_reverts_any_invalid_signer():
            token.permit(holder, stranger, 700, deadline, v, r, s, {"from": stranger})

    def test_RevertIf_PermitExpired(self, token, holder, stranger):
        deadline = chain[-1].timestamp - 1
        v, r, s = sign_permit(token, holder, stranger.address, 700, deadline)
        with reverts("ERC2612ExpiredSignature", deadline):
            token.permit(holder, stranger, 700, deadline, v, r, s, {"from": stranger})


def brownie_reverts_any_invalid_signer():
    """A reused permit recovers some other signer, unknown in advance: match the error name."""
    import brownie

    return brownie.reverts(revert_pattern=r"ERC2612InvalidSigner: .*")
