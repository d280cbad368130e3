"""`agora wallet`: new and import write private keystores the node can load, the key never
on the command line; address and balance read the chain; every failure is one line."""

from __future__ import annotations

import json
import stat

from clikit import TOKEN
from eth_account import Account

from agora.sender import WalletSettings, load_wallet

ZERO = "0x" + "0" * 40


def test_WalletNewWritesAPrivateKeystoreTheNodeCanLoad(agora, agora_env, tmp_path):
    agora_env.setenv("AGORA_WALLET_PASSWORD", "battery staple")
    path = tmp_path / "node" / "key.json"
    ran = agora("wallet", "new", "--keystore", str(path))
    assert (ran.code, ran.err) == (0, "")
    address = ran.out.strip()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_wallet(WalletSettings(keystore=path, password="battery staple")).address == address
    again = agora("wallet", "new", "--keystore", str(path))
    assert (again.code, again.out) == (1, "")
    assert again.line == f"agora: {path} exists: choose another path (a keystore is never overwritten)"


def test_WalletNewAsksThePasswordTwiceOnATerminal(agora, agora_env, tmp_path):
    agora_env.setattr("sys.stdin.isatty", lambda: True, raising=False)
    answers = iter(["one", "two"])
    agora_env.setattr("getpass.getpass", lambda prompt="": next(answers))
    ran = agora("wallet", "new", "--keystore", str(tmp_path / "key.json"))
    assert ran.code == 1
    assert ran.line == "agora: the two passwords differ: run `agora wallet new` again"
    assert not (tmp_path / "key.json").exists()


def test_WalletImportFromStdinThenAddressPrintsTheAddress(agora, agora_env, tmp_path, accounts):
    account = Account.create()
    accounts[0].transfer(account.address, 10 * TOKEN)
    agora_env.setenv("AGORA_WALLET_PASSWORD", "correct horse")
    path = tmp_path / "imported.json"
    ran = agora("wallet", "import", "--keystore", str(path), stdin=bytes(account.key).hex() + "\n")  # without 0x
    assert (ran.code, ran.out, ran.err) == (0, f"{account.address}\n", "")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    agora_env.setenv("AGORA_WALLET_KEYSTORE", str(path))
    shown = agora("wallet", "address")
    assert (shown.code, shown.out) == (0, f"{account.address} 10 ETH\n")
    as_json = agora("wallet", "address", "--json")
    assert as_json.json() == {"address": account.address, "eth_wei": str(10 * TOKEN)}


def test_WalletImportAsksTheKeyAndPasswordOnATerminal(agora, agora_env, tmp_path):
    account = Account.create()
    agora_env.setattr("sys.stdin.isatty", lambda: True, raising=False)
    prompts = []
    answers = iter(["0x" + bytes(account.key).hex(), "pw", "pw"])

    def getpass(prompt=""):
        prompts.append(prompt)
        return next(answers)

    agora_env.setattr("getpass.getpass", getpass)
    ran = agora("wallet", "import", "--keystore", str(tmp_path / "key.json"))
    assert (ran.code, ran.out) == (0, f"{account.address}\n")
    assert prompts == ["private key (64 hex digits; not shown): ", "keystore password: ", "again: "]
    assert load_wallet(WalletSettings(keystore=tmp_path / "key.json", password="pw")).address == account.address


def test_WalletImportRefusesWhatIsNotAKeyAndWritesNothing(agora, agora_env, tmp_path):
    agora_env.setenv("AGORA_WALLET_PASSWORD", "pw")
    for given in ("not a key\n", "0x1234\n", ""):
        ran = agora("wallet", "import", "--keystore", str(tmp_path / "key.json"), stdin=given)
        assert ran.code == 1 and ran.out == ""
        assert ran.line.startswith("agora: "), ran.err
        assert "not a private key" in ran.line or "no private key on stdin" in ran.line
        assert not given.strip() or given.strip() not in ran.line  # the input is not echoed
    assert list(tmp_path.glob("*.json")) == []


def test_AWrongKeystorePasswordIsOneLine(agora, agora_env, tmp_path):
    path = tmp_path / "key.json"
    path.write_text(json.dumps(Account.encrypt(Account.create().key, "right horse", iterations=2**10)))
    agora_env.setenv("AGORA_WALLET_KEYSTORE", str(path))
    agora_env.setenv("AGORA_WALLET_PASSWORD", "wrong horse")
    for command in (["wallet", "address"], ["gov", "delegate"], ["provider", "pause"]):
        ran = agora(*command)
        assert (ran.code, ran.out) == (1, ""), command
        assert ran.line == (f"agora: wrong password for the keystore {path}: fix AGORA_WALLET_PASSWORD_FILE or "
                            f"AGORA_WALLET_PASSWORD")


def test_AWrongPasswordAskedOnATerminalIsOneLine(agora, agora_env, tmp_path):
    path = tmp_path / "key.json"
    path.write_text(json.dumps(Account.encrypt(Account.create().key, "right horse", iterations=2**10)))
    agora_env.setenv("AGORA_WALLET_KEYSTORE", str(path))
    agora_env.setattr("sys.stdin.isatty", lambda: True, raising=False)
    agora_env.setattr("getpass.getpass", lambda prompt="": "wrong horse")
    ran = agora("wallet", "address")
    assert ran.code == 1
    assert ran.line == f"agora: wrong password for the keystore {path}: try again"


def test_BalanceShowsEveryHoldingToTheWei(agora, agora_env, system, accounts, person):
    extra = 234_567_890_123_456_789  # 0.234... tokens, so the wei digits matter
    system.token.transfer(person.address, extra, {"from": accounts[1]})
    ran = agora("wallet", "balance", "--json")
    assert ran.code == 0, ran.err
    assert ran.json() == {"address": person.address, "eth_wei": str(10 * TOKEN),
                          "tokens_wei": str(1_000 * TOKEN + extra), "credit_wei": "0", "votes_wei": "0",
                          "delegate": None, "provider": None}
    table = agora("wallet", "balance")
    assert table.code == 0
    assert "1,000.2345" in table.out and "nobody (delegate to vote: agora gov delegate)" in table.out

    # Another address, given; after delegating, its votes; as a provider, its stake.
    assert agora("gov", "delegate").code == 0
    assert agora("provider", "register", "--cpu", "1", "--memory-gib", "1", "--price-cpu", "0", "--price-memory", "0",
                 "--endpoint", "http://p", "--stake", "100.5").code == 0
    other = agora("wallet", "balance", person.address.lower(), "--json").json()
    assert other["tokens_wei"] == str(1_000 * TOKEN + extra - 100_500_000_000_000_000_000)
    assert other["votes_wei"] == other["tokens_wei"] and other["delegate"] == person.address
    assert other["provider"] == {"stake_wei": "100500000000000000000", "locked_collateral_wei": "0",
                                 "unbonding_wei": "0"}
    assert int(other["eth_wei"]) < 10 * TOKEN  # gas paid


def test_BalanceOfAKeystoreNeedsNoPassword(agora, agora_env, system, tmp_path):
    account = Account.create()
    path = tmp_path / "key.json"
    path.write_text(json.dumps(Account.encrypt(account.key, "secret", iterations=2**10)))
    agora_env.setenv("AGORA_WALLET_KEYSTORE", str(path))
    ran = agora("wallet", "balance", "--json")
    assert ran.code == 0, ran.err
    assert ran.json()["address"] == account.address and ran.json()["eth_wei"] == "0"
