"""The node's commands keep their output (Docker Compose's health check reads `agora status`)."""

from __future__ import annotations

import brownie


def test_DbUpgradeThenStatusInTextAndJson(agora, system, tmp_path):
    ran = agora("db", "upgrade")
    assert (ran.code, ran.out) == (0, "database schema is up to date\n")
    status = agora("status")
    assert status.code == 0, status.err
    assert status.out.startswith(f"chain {brownie.web3.eth.chain_id}: head ") and ", indexed " in status.out
    data = agora("status", "--json").json()
    assert data["chain_id"] == brownie.web3.eth.chain_id and data["rollback_pending"] is False
    assert set(data) == {"chain_id", "head", "indexed", "lag", "finalized", "rollback_pending"}


def test_StatusBeforeTheSchemaIsOneLine(agora, system):
    ran = agora("status")
    assert (ran.code, ran.out) == (1, "")
    assert ran.line.startswith("agora: ") and "agora db upgrade" in ran.line
