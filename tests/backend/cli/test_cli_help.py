"""The `agora` command's shape: help for every group and command, click's usage errors with
exit code 2, one-line errors with exit code 1, and the values the command line takes."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from agora.cli import app, main
from agora.cli.common import InputError, parse_tokens
from agora.cli.gov import PARAMETERS
from agora.cli.provider import cpu_millicores, memory_mib, price_gwei

ROOT = Path(__file__).resolve().parents[3]

GROUPS = {
    "wallet": ["new", "import", "address", "balance"],
    "gov": ["delegate", "propose", "vote", "queue", "execute", "status", "params"],
    "provider": ["register", "update", "stake", "unbond", "withdraw", "pause", "resume", "status", "run"],
    "db": ["upgrade"],
    "arbiter": ["run"],
    "blobs": ["serve"],
}
TOP = ["index", "status", "node", "worker", "beat", "match", "keep", "db", "job", "provider", "wallet", "gov",
       "arbiter", "blobs", "devnet"]


def commands_of(command, path=("agora",)):
    """Every (path, click command) under the app."""
    yield path, command
    for name, sub in getattr(command, "commands", {}).items():
        yield from commands_of(sub, (*path, name))


def test_TheTopHelpListsEveryCommandInItsPanel(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for panel in ("Run a node", "Use the market", "Wallet and governance", "Run a service"):
        assert panel in out
    for name in TOP:
        assert re.search(rf"│ {name} ", out), name
    assert "Traceback" not in out


def test_NoArgumentsShowsTheHelp(capsys):
    assert main([]) == 2
    captured = capsys.readouterr()
    assert "Wallet and governance" in captured.out + captured.err


@pytest.mark.parametrize("group", sorted(GROUPS))
def test_EachGroupsHelpListsItsCommands(group, capsys):
    assert main([group, "--help"]) == 0
    out = capsys.readouterr().out
    for name in GROUPS[group]:
        assert re.search(rf"│ {name} ", out), (group, name)
    assert "Traceback" not in out


def test_EveryCommandAndOptionHasHelp():
    missing = []
    for path, command in commands_of(typer.main.get_command(app)):
        if not (command.help or "").strip():
            missing.append(" ".join(path))
        for param in command.params:
            if param.param_type_name == "option" and not (getattr(param, "help", "") or "").strip():
                missing.append(f"{' '.join(path)} {param.opts[0]}")
            if param.param_type_name == "argument" and not (getattr(param, "help", "") or "").strip():
                missing.append(f"{' '.join(path)} {param.name}")
    assert missing == []


@pytest.mark.parametrize("path", [p for p, _ in commands_of(typer.main.get_command(app)) if len(p) > 1],
                         ids=lambda p: " ".join(p[1:]))
def test_EveryCommandsHelpPrints(path, capsys):
    assert main([*path[1:], "--help"]) == 0
    out = capsys.readouterr().out
    assert f"Usage: agora {' '.join(path[1:])}" in out and "Traceback" not in out


def test_EveryCommandThatPrintsDataTakesJson():
    """Commands that run a service or print a fixed line are the exceptions."""
    services = {("agora", n) for n in ("index", "node", "worker", "beat", "match", "keep", "devnet")} | {
        ("agora", "db", "upgrade"), ("agora", "arbiter", "run"), ("agora", "blobs", "serve"),
        ("agora", "provider", "run")}
    lacking = [" ".join(path) for path, command in commands_of(typer.main.get_command(app))
               if not hasattr(command, "commands") and path not in services and path[1] != "job"
               and "--json" not in {opt for p in command.params for opt in p.opts}]
    assert lacking == []


@pytest.mark.parametrize("args, says", [
    (["indexx"], "Error: No such command 'indexx'."),
    (["index", "--untill", "5"], "Error: No such option: --untill"),
    (["db", "downgrade"], "Error: No such command 'downgrade'."),
    (["provider", "stake"], "Error: Missing argument 'TOKENS'."),
    (["gov", "vote", "1", "maybe"], "Error: Invalid value for 'for|against|abstain'"),
    (["gov", "propose", "--set", "dispute_bond=1"], "Error: Missing option '--description'."),
    (["index", "--until", "soon"], "Error: Invalid value for '--until'"),
])
def test_AUsageErrorExitsTwoWithClicksMessage(args, says, capsys):
    assert main(args) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("Usage: agora ") and "Try 'agora " in captured.err
    assert says in captured.err, captured.err
    assert "Traceback" not in captured.err


def test_AKeyOnTheCommandLineIsRefusedWithWhy(capsys):
    assert main(["node", "--private-key", "0x" + "11" * 32]) == 2
    err = capsys.readouterr().err
    assert "No such option: --private-key (unrecognized arguments: a key or password is never a command-line " \
           "argument" in err


def test_ABadAmountIsOneLineBeforeAnythingElse(agora):
    ran = agora("provider", "stake", "12.x")
    assert (ran.code, ran.out) == (1, "")
    assert ran.line == ("agora: the stake to add '12.x' is not a number of tokens: write a decimal such as 12.5")


def test_CliRunnerGivesTheSameOneLineAndCode(agora_env):
    result = CliRunner().invoke(app, ["wallet", "balance", "0x1234"])
    assert result.exit_code == 1
    assert result.stderr == ("agora: address '0x1234' is not an address (0x and 40 hex digits, with a correct "
                             "EIP-55 checksum if mixed-case)\n")


def test_PythonDashMStillRuns():
    run = subprocess.run([sys.executable, "-m", "agora.cli", "db", "--help"], capture_output=True, text=True,
                         timeout=60)
    assert run.returncode == 0 and "upgrade" in run.stdout, run.stderr


# ---------------------------------------------------------------- values from the command line


@pytest.mark.parametrize("text, wei", [
    ("12.5", 12_500_000_000_000_000_000), ("0", 0), ("1", 10**18), ("0.000000000000000001", 1),
    ("100000000", 10**26), (" 7.25 ", 7_250_000_000_000_000_000), ("1_000", 1000 * 10**18),
    ("123456789.123456789123456789", 123456789123456789123456789),
])
def test_TokensAreParsedExactlyToTheWei(text, wei):
    assert parse_tokens(text) == wei


@pytest.mark.parametrize("text, says", [
    ("0.0000000000000000001", "finer than the market keeps: the smallest step is 1 wei (18 decimals)"),
    ("-1", "is not a number of tokens"), ("abc", "is not a number of tokens"), ("NaN", "is not a number of tokens"),
    ("Infinity", "is not a number of tokens"), ("1,000", "is not a number of tokens"),
    ("80000000000", "is more than the contracts hold: at most 79228162514.264337593543950335 tokens"),
])
def test_ABadTokenAmountSaysWhy(text, says):
    with pytest.raises(InputError) as raised:
        parse_tokens(text, "--stake")
    message = str(raised.value)
    assert message.startswith(f"--stake {text!r} ") and says in message and "\n" not in message


def test_CapacityAndPricesConvertToTheContractsUnits():
    assert cpu_millicores("0.5") == 500 and cpu_millicores("4") == 4000
    assert memory_mib("0.5") == 512 and memory_mib("8") == 8192
    assert price_gwei("0.1", "--price-cpu") == 100_000_000 and price_gwei("0.000000001", "--price-cpu") == 1
    for call, says in ((lambda: cpu_millicores("0.0005"), "1 millicore"), (lambda: memory_mib("0.001"), "1 MiB"),
                       (lambda: price_gwei("0.0000000001", "--price-cpu"), "1 gwei"),
                       (lambda: price_gwei("18446744074", "--price-cpu"), "at most 18446744073.709551615")):
        with pytest.raises(InputError, match=says):
            call()


def test_TheParameterTableIsTheInterfacesEnumAndSetters():
    source = (ROOT / "contracts" / "interfaces" / "IProtocolParams.sol").read_text()
    enum = re.search(r"enum Parameter \{(.*?)\}", source, re.S).group(1)
    names = [name.strip() for name in enum.split(",") if name.strip()]
    numbered = [p for p in PARAMETERS if p.index is not None]
    assert [p.solidity for p in numbered] == names
    assert [p.index for p in numbered] == list(range(len(names)))
    for parameter in PARAMETERS:
        assert f"function {parameter.setter}(" in source, parameter.setter
        assert f"function {parameter.getter}() external view" in source, parameter.getter


# ---------------------------------------------------------------- the services' thin commands


def fake_module(monkeypatch, name: str, **functions) -> None:
    import types

    module = types.ModuleType(name)
    for key, value in functions.items():
        setattr(module, key, value)
    parent, _, child = name.rpartition(".")
    if parent not in sys.modules:
        monkeypatch.setitem(sys.modules, parent, types.ModuleType(parent))
    monkeypatch.setitem(sys.modules, name, module)


@pytest.mark.parametrize("args, module, function", [
    (["provider", "run"], "agora.agent.runner", "run_agent"),
    (["arbiter", "run"], "agora.arbiter.runner", "run_arbiter"),
    (["devnet"], "agora.devnet", "run_devnet"),
    (["blobs", "serve"], "agora.blobs.server", "serve_forever"),
])
def test_ServiceCommandsRunTheirServiceAndPassItsExitCodeOn(args, module, function, monkeypatch):
    calls = []
    fake_module(monkeypatch, module, **{function: lambda: calls.append(function) or 7})
    assert main(args) == 7 and calls == [function]
    fake_module(monkeypatch, module, **{function: lambda: (_ for _ in ()).throw(KeyboardInterrupt)})
    assert main(args) == 130
