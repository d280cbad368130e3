"""Checks docker-compose.yml, .env.example and the Dockerfile without Docker or a network.

No Docker engine runs where the tests run, so the stack is checked statically: the compose
file against the Compose specification's JSON schema (check-jsonschema's builtin copy), and
all three against the code they start: every command is a real `agora` subcommand, script or
installed program; every variable is one the code (its pydantic settings classes, the deploy
script) or an image reads; volumes, ports, dependencies and health checks fit together; and
the Dockerfile copies files that exist and pins the versions ./dev pins.
"""

from __future__ import annotations

import contextlib
import fnmatch
import functools
import importlib
import importlib.metadata
import io
import json
import pkgutil
import re
import shlex
import subprocess
import sys
import tomllib
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml
from pydantic import AliasChoices, BaseModel
from pydantic_settings import BaseSettings

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
DEPLOY_SCRIPT = ROOT / "scripts" / "deploy.py"
CHECK_JSONSCHEMA = Path(sys.executable).parent / "check-jsonschema"

# Variables the official images read (docker-library/postgres docs), not Agora's code.
IMAGE_VARIABLES = frozenset({"POSTGRES_USER", "POSTGRES_PASSWORD", "POSTGRES_DB"})
# Programs every image's base system has (Debian's coreutils).
BASE_PROGRAMS = frozenset({"rm"})
ONE_SHOT = "service_completed_successfully"


@functools.cache
def _compose() -> dict:
    """The parsed compose file (parsed once: PyYAML is slow and the file is read-only here)."""
    return yaml.safe_load(COMPOSE.read_text())


def _services() -> dict[str, dict]:
    return _compose()["services"]


def _env_example() -> dict[str, tuple[str, bool]]:
    """.env.example's variables: name -> (value, set). `# NAME=value` documents an option left at its default."""
    found: dict[str, tuple[str, bool]] = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        if match := re.fullmatch(r"(#\s*)?([A-Z][A-Z0-9_]*)=(.*)", line.strip()):
            commented, name, value = match.groups()
            assert name not in found, f".env.example names {name} twice"
            found[name] = (value, commented is None)
    return found


def _dev_variable(name: str) -> str:
    match = re.search(rf'^{name}="([^"]+)"$', (ROOT / "dev").read_text(), re.MULTILINE)
    assert match, f"./dev sets no {name}"
    return match.group(1)


# ---------------------------------------------------------------- 1. the Compose specification


def _check_schema(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(CHECK_JSONSCHEMA), "--builtin-schema", "vendor.compose-spec", str(path)],
                          capture_output=True, text=True, timeout=60)


def test_compose_file_follows_the_compose_specification():
    result = _check_schema(COMPOSE)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(("original", "broken", "complaint"), [
    ("    restart: unless-stopped\n", "    restrat: unless-stopped\n", "restrat"),
    ("condition: service_completed_successfully", "condition: service_completed", "service_completed"),
])
def test_schema_check_rejects_a_broken_copy(tmp_path, original, broken, complaint):
    text = COMPOSE.read_text()
    assert original in text
    copy = tmp_path / "docker-compose.yml"
    copy.write_text(text.replace(original, broken, 1))
    result = _check_schema(copy)
    assert result.returncode == 1, result.stdout + result.stderr
    assert complaint in result.stdout


# ---------------------------------------------------------------- 2. commands


def _simple_commands(command: list[str] | str) -> list[list[str]]:
    """A command, or the commands an `sh -c` line chains with && ; ||, as argument lists."""
    argv = shlex.split(command) if isinstance(command, str) else list(command)
    if argv[:2] != ["sh", "-c"]:
        return [argv]
    return _shell_commands(argv[2])


def _shell_commands(line: str) -> list[list[str]]:
    commands = [shlex.split(part) for part in re.split(r"&&|\|\||;", line) if part.strip()]
    return [argv[1:] if argv[0] == "exec" else argv for argv in commands]


def _healthcheck_commands(service: dict) -> list[list[str]]:
    test = service.get("healthcheck", {}).get("test")
    if not test:
        return []
    if test[0] == "CMD":
        return [test[1:]]
    assert test[0] == "CMD-SHELL", test
    return _shell_commands(test[1])


def _built_commands() -> list[tuple[str, list[str]]]:
    """Every command our own images run (commands and health checks), by service."""
    found = []
    for name, service in _services().items():
        if "build" not in service:
            continue  # the official images run their own programs
        for argv in _simple_commands(service["command"]) + _healthcheck_commands(service):
            found.append((name, [arg for arg in argv if not arg.startswith(">")]))  # no redirections
    return found


def _npm_bins() -> set[str]:
    """Programs the npm packages package.json depends on install (package-lock.json's bin entries)."""
    lock = json.loads((ROOT / "package-lock.json").read_text())
    direct = set(json.loads((ROOT / "package.json").read_text())["dependencies"])
    return {bin_name for path, package in lock["packages"].items()
            if path.removeprefix("node_modules/") in direct for bin_name in package.get("bin", {})}


def _agora_accepts(args: list[str]) -> bool:
    """Whether the real `agora` parser takes these arguments, options included, without running
    the command: each group's context is made (its options parsed), its subcommand resolved,
    down to the command, whose context parses and checks its own options and arguments."""
    import typer

    from agora import cli

    command = typer.main.get_command(cli.app)
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        try:
            context = command.make_context("agora", list(args))
            while hasattr(command, "resolve_command"):  # a group: its subcommand next
                rest = [*context._protected_args, *context.args]  # the subcommand, then its arguments
                if not rest:
                    return False  # a group alone runs nothing
                name, command, rest = command.resolve_command(context, rest)
                context = command.make_context(name, rest, parent=context)
        except typer.Exit as exit_:  # --help
            return exit_.exit_code == 0
        except typer.TyperException:  # click's usage errors
            return False
    return True


def _brownie_networks_added() -> dict[str, str]:
    """Brownie networks the Dockerfile adds: id -> chain id."""
    return dict(re.findall(r"brownie networks add Ethereum (\S+) .*?chainid=(\d+)", DOCKERFILE.read_text()))


def _command_problem(argv: list[str]) -> str | None:
    program, args = argv[0], argv[1:]
    if program == "agora":
        if _agora_accepts(args):
            return None
        return f"`agora {' '.join(args)}` is not a command the agora parser accepts"
    if program == "brownie" and args[:1] == ["run"]:
        return None if (ROOT / args[1]).is_file() else f"brownie runs {args[1]}, which is not in the repository"
    if program == "brownie" and args[:2] == ["networks", "modify"]:
        added = _brownie_networks_added()
        return None if args[2] in added else f"brownie network {args[2]} is not one the Dockerfile adds ({added})"
    if program in _npm_bins() or program in BASE_PROGRAMS:
        return None
    if program in _runtime_python_programs():
        return None
    return f"{program} is neither agora, a brownie script, an npm package's program nor a runtime Python program"


def _normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


@functools.cache
def _runtime_python_programs() -> frozenset[str]:
    """Python, and the console scripts of the packages the images install: uv.lock's closure of
    agora's main dependencies (the dev group's pytest, ruff, mypy stay out of the images)."""
    packages = {package["name"]: package for package in tomllib.loads((ROOT / "uv.lock").read_text())["package"]}
    closure: set[str] = set()
    pending = ["agora"]
    while pending:
        name = pending.pop()
        if name not in closure:
            closure.add(name)
            pending += [dependency["name"] for dependency in packages[name].get("dependencies", [])]
    scripts = {entry.name for entry in importlib.metadata.entry_points(group="console_scripts")
               if entry.dist is not None and _normalized(entry.dist.name) in closure}
    return frozenset({"python", *scripts})


@pytest.mark.parametrize(("service", "argv"), _built_commands(),
                         ids=[f"{service}:{' '.join(argv[:2])}" for service, argv in _built_commands()])
def test_every_command_names_something_that_exists(service, argv):
    assert _command_problem(argv) is None, f"{service}: {_command_problem(argv)}"


def test_command_check_rejects_what_does_not_exist():
    assert _command_problem(["agora", "indexx"]) is not None
    assert _command_problem(["agora", "db", "downgrade"]) is not None
    assert _command_problem(["agora", "index", "--untill", "5"]) is not None
    assert _command_problem(["brownie", "run", "scripts/deploi.py"]) is not None
    assert _command_problem(["brownie", "networks", "modify", "mainnet"]) is not None
    assert _command_problem(["anvill"]) is not None
    assert _command_problem(["ruff", "check"]) is not None  # the dev group's: not in the images
    assert _command_problem(["celery", "inspect", "ping"]) is None
    assert _command_problem(["agora", "index", "--until", "5"]) is None
    assert _command_problem(["agora", "db", "upgrade"]) is None


def test_deploy_network_is_the_chain_services_chain():
    chain_command = _services()["chain"]["command"]
    chain_id = chain_command[chain_command.index("--chain-id") + 1]
    deploy = _simple_commands(_services()["deploy"]["command"])
    (modify,) = [argv for argv in deploy if argv[:2] == ["brownie", "networks"]]
    (run,) = [argv for argv in deploy if argv[:2] == ["brownie", "run"]]
    network = run[run.index("--network") + 1]
    assert modify[3] == network
    assert _brownie_networks_added().get(network) == chain_id


# ---------------------------------------------------------------- 3. variables


def _subclasses(cls: type) -> list[type]:
    return [cls, *(sub for direct in cls.__subclasses__() for sub in _subclasses(direct))]


@functools.cache
def _settings_env_names() -> frozenset[str]:
    """Environment names every pydantic-settings class in agora reads (prefix + field, or alias)."""
    import agora

    for module in pkgutil.walk_packages(agora.__path__, "agora."):
        if ".migrations" not in module.name:  # Alembic's env.py runs only inside Alembic
            importlib.import_module(module.name)

    names: set[str] = set()
    for cls in _subclasses(BaseSettings):
        if not cls.__module__.startswith("agora"):
            continue
        prefix = cls.model_config.get("env_prefix", "")
        delimiter = cls.model_config.get("env_nested_delimiter")
        for field_name, field in cls.model_fields.items():
            alias = field.validation_alias or field.alias
            if isinstance(alias, str):
                names.add(alias.upper())
                continue
            if isinstance(alias, AliasChoices):
                names.update(choice.upper() for choice in alias.choices if isinstance(choice, str))
                continue
            name = f"{prefix}{field_name}".upper()
            names.add(name)
            nested = field.annotation
            if delimiter and isinstance(nested, type) and issubclass(nested, BaseModel):
                names.update(f"{name}{delimiter}{sub}".upper() for sub in nested.model_fields)
    return frozenset(names)


def _deploy_script_names() -> set[str]:
    return set(re.findall(r"""os\.environ(?:\.get)?[(\[]\s*["']([A-Z0-9_]+)["']""", DEPLOY_SCRIPT.read_text()))


def _compose_names() -> set[str]:
    """Names the compose file uses: interpolated (${X}, $X), in containers' shells ($$X), in
    `environment:` keys, or spelled anywhere (AGORA_*)."""
    text = COMPOSE.read_text()
    names = set(re.findall(r"\$\$?\{?([A-Za-z_][A-Za-z0-9_]*)", text))
    names.update(re.findall(r"\bAGORA_[A-Z0-9_]+", text))
    for service in _services().values():
        environment = service.get("environment", {})
        keys = environment if isinstance(environment, dict) else [item.split("=", 1)[0] for item in environment]
        names.update(keys)
    return names


def test_settings_introspection_finds_the_settings_class():
    names = _settings_env_names()
    assert {"AGORA_RPC_URL", "AGORA_DATABASE_URL", "AGORA_DEPLOYMENTS_DIR", "AGORA_CONFIRMATIONS", "AGORA_REDIS_URL",
            "AGORA_WALLET_KEYSTORE", "AGORA_SENDER_MAX_FEE_GWEI", "AGORA_MATCHMAKER_STAGGER_SECONDS",
            "AGORA_KEEPER_SETTLE"} <= names
    # The deploy script reads its variables through agora.config's DeploySettings too.
    assert {"AGORA_PROFILE", "AGORA_DEPLOYER_KEY", "AGORA_DISTRIBUTION", "AGORA_ARBITER", "AGORA_REDEPLOY"} <= names


def test_every_variable_compose_uses_is_set_in_env_example():
    env = _env_example()
    unset = sorted(name for name in _compose_names() if not env.get(name, ("", False))[1])
    assert not unset, f"docker-compose.yml uses {unset}, which .env.example does not set"


def test_only_env_file_is_env():
    env_files = {str(service["env_file"]) for service in _services().values() if "env_file" in service}
    assert env_files == {".env"}


@pytest.mark.parametrize("name", sorted(_env_example()))
def test_every_variable_in_env_example_is_read_by_something(name):
    known = _settings_env_names() | _deploy_script_names() | IMAGE_VARIABLES
    assert name in known, f".env.example names {name}, which no agora settings class, deploy script or image reads"


def _agora_settings_classes() -> list[type[BaseSettings]]:
    _settings_env_names()  # imports every agora module
    return [cls for cls in _subclasses(BaseSettings) if cls.__module__.startswith("agora")]


def test_the_stacks_settings_are_valid(monkeypatch):
    """The values .env.example sets are ones the settings classes accept (types, bounds)."""
    for name, (value, is_set) in _env_example().items():
        if is_set:
            monkeypatch.setenv(name, value)
    classes = _agora_settings_classes()
    assert classes
    for cls in classes:
        settings = cls(_env_file=None)
        if "rpc_url" in cls.model_fields:
            assert settings.rpc_url == "http://chain:8545"  # the environment reached it


def test_urls_in_env_example_name_the_stacks_services():
    env = {name: value for name, (value, _) in _env_example().items()}
    services = _services()
    rpc = urlsplit(env["AGORA_RPC_URL"])
    assert rpc.hostname == "chain"
    assert str(rpc.port) == services["chain"]["command"][services["chain"]["command"].index("--port") + 1]
    database = urlsplit(env["AGORA_DATABASE_URL"])
    assert (database.hostname, database.port) == ("postgres", 5432)
    assert (database.username, database.password, database.path.lstrip("/")) == (
        env["POSTGRES_USER"], env["POSTGRES_PASSWORD"], env["POSTGRES_DB"])
    broker = urlsplit(env["AGORA_REDIS_URL"])
    assert (broker.scheme, broker.hostname) == ("redis", "redis")


# ---------------------------------------------------------------- 4. volumes, ports, dependencies


def _named_volumes(service: dict) -> set[str]:
    names = set()
    for volume in service.get("volumes", []):
        source = volume.split(":", 1)[0] if isinstance(volume, str) else volume.get("source", "")
        if source and not source.startswith((".", "/", "~", "$")):  # else a bind mount
            names.add(source)
    return names


def test_named_volumes_are_declared_and_used():
    used = set().union(*(_named_volumes(service) for service in _services().values()))
    declared = set(_compose().get("volumes") or {})
    assert used - declared == set(), "volumes used but not declared"
    assert declared - used == set(), "volumes declared but not used"


def test_deployments_volume_is_mounted_where_the_settings_say():
    directory = _env_example()["AGORA_DEPLOYMENTS_DIR"][0]
    for name in ("deploy", "indexer", "worker", "beat", "migrate"):
        volumes = _services()[name]["volumes"]
        targets = [v.removeprefix("deployments:").removesuffix(":ro") for v in volumes if v.startswith("deployments:")]
        assert len(targets) == 1 and targets[0].startswith("${AGORA_DEPLOYMENTS_DIR:?"), name
    assert directory == "/deployments"  # the directory both Python images prepare for their user
    assert "mkdir -p /deployments" in DOCKERFILE.read_text()


def test_published_ports_bind_to_localhost_and_do_not_collide():
    host_ports = []
    for name, service in _services().items():
        for port in service.get("ports", []):
            assert isinstance(port, str), f"{name}: use the short port syntax"
            host_ip, host_port, _container = port.split(":")
            assert host_ip == "127.0.0.1", f"{name} publishes {port} beyond this machine"
            host_ports.append(host_port)
    assert host_ports and len(host_ports) == len(set(host_ports))


def _depends_on(service: dict) -> dict[str, str]:
    depends = service.get("depends_on", {})
    if isinstance(depends, list):
        return dict.fromkeys(depends, "service_started")
    return {target: spec.get("condition", "service_started") for target, spec in depends.items()}


def _one_shots() -> set[str]:
    return {target for service in _services().values()
            for target, condition in _depends_on(service).items() if condition == ONE_SHOT}


def test_dependencies_exist_and_their_conditions_fit():
    services = _services()
    assert _one_shots() == {"migrate", "deploy"}
    for name, service in services.items():
        for target, condition in _depends_on(service).items():
            assert target in services, f"{name} depends on {target}, which is no service"
            if condition == "service_healthy":
                assert "healthcheck" in services[target], f"{name} waits for {target} to be healthy; it has no check"
            else:
                assert condition == ONE_SHOT, f"{name} waits for {target} only to start: say what it waits for"


def test_long_running_services_have_health_checks_and_restart_policies():
    for name, service in _services().items():
        if name in _one_shots():
            assert service.get("restart") == "no", f"one-shot {name} must not restart"
        else:
            assert service.get("restart") == "unless-stopped", name
            assert service.get("healthcheck", {}).get("test"), f"{name} has no health check"
            assert not service["healthcheck"].get("disable"), name


# ---------------------------------------------------------------- 5. the Dockerfile


def _instructions() -> list[tuple[str, str]]:
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    found = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            found.append((keyword.upper(), rest.strip()))
    return found


def _stages() -> dict[str, tuple[str, list[tuple[str, str]]]]:
    """Build stages: name -> (what it is FROM, its instructions)."""
    stages: dict[str, tuple[str, list[tuple[str, str]]]] = {}
    current: list[tuple[str, str]] = []
    for keyword, rest in _instructions():
        if keyword == "FROM":
            base, _, name = rest.partition(" AS ")
            current = []
            stages[name.strip()] = (base.strip(), current)
        else:
            current.append((keyword, rest))
    return stages


def _dockerignored(path: str) -> bool:
    ignored = False
    prefixes = [str(Path(*Path(path).parts[:i])) for i in range(1, len(Path(path).parts) + 1)]
    for pattern in DOCKERIGNORE.read_text().splitlines():
        pattern = pattern.strip()
        if not pattern or pattern.startswith("#"):
            continue
        negated = pattern.startswith("!")
        if any(fnmatch.fnmatch(prefix, pattern.lstrip("!")) for prefix in prefixes):
            ignored = not negated
    return ignored


def test_dockerfile_copies_only_what_the_repository_holds():
    copied = []
    for keyword, rest in _instructions():
        if keyword in ("COPY", "ADD"):
            args = shlex.split(rest)
            if any(arg.startswith("--from=") for arg in args):
                continue
            sources = [arg for arg in args if not arg.startswith("--")][:-1]
            copied += sources
    assert copied
    for source in copied:
        assert (ROOT / source).exists(), f"the Dockerfile copies {source}, which is not in the repository"
        assert not _dockerignored(source), f"the Dockerfile copies {source}, which .dockerignore leaves out"


def test_dockerignore_keeps_secrets_and_host_builds_out():
    for path in (".env", "node_modules", ".venv", "build", "deployments", "backend/agora/__pycache__"):
        assert _dockerignored(path), path
    assert not _dockerignored("backend/agora/cli/__init__.py")


def test_dockerfile_pins_the_versions_dev_pins():
    args = dict(re.findall(r"^ARG (\w+)=(\S+)$", DOCKERFILE.read_text(), re.MULTILINE))
    assert args["UV_VERSION"] == _dev_variable("UV_VERSION")
    assert args["SOLC_VERSION"] == _dev_variable("SOLC_VERSION")
    assert json.loads((ROOT / "package.json").read_text())["dependencies"]["solc"] == args["SOLC_VERSION"]
    assert "uv sync --frozen" in DOCKERFILE.read_text()
    assert args["PYTHON_IMAGE"].startswith("python:3.11-slim")


def test_compose_targets_exist_and_run_as_a_user_of_their_own():
    stages = _stages()

    def user(stage: str) -> str | None:
        base, instructions = stages[stage]
        users = [rest for keyword, rest in instructions if keyword == "USER"]
        return users[-1] if users else (user(base) if base in stages else None)

    targets = {service["build"]["target"] for service in _services().values() if "build" in service}
    assert targets == {"chain", "runtime", "deploy"}
    for target in targets:
        assert target in stages, f"docker-compose.yml builds target {target}, which the Dockerfile lacks"
        assert user(target) not in (None, "root", "0"), f"target {target} runs as root"
