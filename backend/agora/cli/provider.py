"""`agora provider`: list capacity on the market, manage the stake behind it, and run the
provider agent.

Amounts are given in tokens ("12.5"), hourly prices in tokens per core-hour, per GiB-hour of
memory, per GPU-hour and per GiB-hour of storage; the registry keeps them in gwei of the
token (1 token = 10^9), so a price finer than one gwei is refused, as is anything the
contracts' integer sizes cannot hold."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape

from agora.cli.common import (
    GWEI_PER_TOKEN,
    InputError,
    JsonOption,
    chain_time,
    emit,
    emit_line,
    ensure_allowance,
    exact_units,
    gwei_price_text,
    key_value_table,
    load_account,
    open_app,
    parse_address,
    parse_tokens,
    receipt_data,
    tokens,
    transact,
    when,
)
from agora.market.terms import (
    MIB_PER_GIB,
    MILLICORES_PER_CORE,
    HourlyPrices,
    LabelTooLong,
    Resources,
    label,
    label_text,
)

if TYPE_CHECKING:
    from agora.app import App

app = typer.Typer(help="Offer compute: register a listing with stake, change it, pause it, manage the stake, and run "
                       "the provider agent.", no_args_is_help=True)

STATUSES = ("None", "Active", "Paused")
UINT16, UINT32, UINT64 = 2**16 - 1, 2**32 - 1, 2**64 - 1
MAX_ENDPOINT_BYTES = 256

Tokens = Annotated[str, typer.Argument(metavar="TOKENS", help="an amount of tokens, such as 250 or 12.5")]


def _option(flag: str, metavar: str, help_: str, *, required: bool = False):
    """A listing option (`required` only documents intent: an option without a default is required)."""
    return typer.Option(flag, metavar=metavar, help=help_, show_default=False)


CPU_HELP = "CPU cores offered (decimal: 0.5 is 500 millicores)"
MEMORY_HELP = "memory offered, GiB (decimal: 0.5 is 512 MiB)"
STORAGE_HELP = "storage offered, whole GiB"
GPUS_HELP = "GPUs offered"
GPU_MODEL_HELP = "the GPUs' model, at most 16 bytes (jobs asking for a model match it exactly)"
REGION_HELP = "where the provider runs, at most 16 bytes (jobs asking for a region match it exactly)"
PRICE_CPU_HELP = "price per CPU core-hour, tokens"
PRICE_MEMORY_HELP = "price per GiB-hour of memory, tokens"
PRICE_GPU_HELP = "price per GPU-hour, tokens"
PRICE_STORAGE_HELP = "price per GiB-hour of storage, tokens"
ENDPOINT_HELP = "where buyers and agents reach the provider (its blob service URL), at most 256 bytes"


# -- values from the command line -----------------------------------------------------------------


def cpu_millicores(text: str) -> int:
    return exact_units(text, MILLICORES_PER_CORE, what="--cpu", unit="cores", finest="1 millicore (0.001 cores)",
                       maximum=UINT32)


def memory_mib(text: str) -> int:
    return exact_units(text, MIB_PER_GIB, what="--memory-gib", unit="GiB", finest="1 MiB (1/1024 GiB)",
                       maximum=UINT32)


def whole(text: str, what: str, unit: str, maximum: int) -> int:
    return exact_units(text, 1, what=what, unit=unit, finest=f"1 {unit.rstrip('s')}", maximum=maximum)


def price_gwei(text: str, what: str) -> int:
    """Tokens per resource-hour as the registry's gwei of the token, exactly."""
    return exact_units(text, GWEI_PER_TOKEN, what=what, unit="tokens per hour", finest="1 gwei (0.000000001 tokens)",
                       maximum=UINT64)


def label_of(text: str, what: str) -> bytes:
    try:
        return label(text)
    except LabelTooLong:
        raise InputError(f"{what} {text!r} is {len(text.encode())} bytes; the registry keeps at most 16") from None


def endpoint_of(text: str) -> str:
    size = len(text.encode())
    if size > MAX_ENDPOINT_BYTES:
        raise InputError(f"--endpoint is {size} bytes; the registry keeps at most {MAX_ENDPOINT_BYTES}")
    return text


# -- the registry's record ------------------------------------------------------------------------


def record_of(app: App, address: str) -> dict[str, Any]:
    """registry.providerOf(address) as a dict (capacity, used and prices as dataclasses)."""
    (status, capacity, used, prices, endpoint, stake, locked, unbonding, unlocks_at, completed, missed,
     disputes_lost, lapsed, total_slashed) = app.contracts.registry.functions.providerOf(address).call()
    return {"status": int(status), "capacity": Resources.from_tuple(capacity), "used": Resources.from_tuple(used),
            "prices": HourlyPrices(*(int(p) for p in prices)), "endpoint": endpoint, "stake": int(stake),
            "locked": int(locked), "unbonding": int(unbonding), "unlocks_at": int(unlocks_at),
            "completed": int(completed), "missed": int(missed), "disputes_lost": int(disputes_lost),
            "lapsed": int(lapsed), "total_slashed": int(total_slashed)}


def _resources_json(resources: Resources) -> dict:
    return {"cpu_millicores": resources.cpu_millicores, "memory_mib": resources.memory_mib,
            "storage_gib": resources.storage_gib, "gpu_count": resources.gpu_count,
            "gpu_model": label_text(resources.gpu_model), "region": label_text(resources.region)}


def status_data(app: App, address: str) -> dict:
    record = record_of(app, address)
    capacity, used = record["capacity"], record["used"]
    free = Resources(capacity.cpu_millicores - used.cpu_millicores, capacity.memory_mib - used.memory_mib,
                     capacity.storage_gib - used.storage_gib, capacity.gpu_count - used.gpu_count,
                     capacity.gpu_model, capacity.region)
    prices = record["prices"]
    return {
        "provider": address, "status": STATUSES[record["status"]], "endpoint": record["endpoint"],
        "capacity": _resources_json(capacity), "used": _resources_json(used), "free": _resources_json(free),
        "prices_gwei_per_hour": {"cpu_core": prices.cpu_core_gwei, "memory_gib": prices.memory_gib_gwei,
                                 "gpu": prices.gpu_gwei, "storage_gib": prices.storage_gib_gwei},
        "stake_wei": str(record["stake"]), "locked_collateral_wei": str(record["locked"]),
        "free_stake_wei": str(record["stake"] - record["locked"]), "unbonding_wei": str(record["unbonding"]),
        "unbonding_unlocks_at": record["unlocks_at"] or None,
        "min_provider_stake_wei": str(app.contracts.params.functions.minProviderStake().call()),
        "reputation": {"completed_jobs": record["completed"], "missed_deadlines": record["missed"],
                       "disputes_lost": record["disputes_lost"], "lapsed_matches": record["lapsed"],
                       "total_slashed_wei": str(record["total_slashed"])},
        "credit_wei": str(app.contracts.market.functions.creditOf(address).call()),
    }


def _number(value: int, scale: int) -> str:
    return f"{(Decimal(value) / scale).normalize():f}"


def status_table(data: dict, now: int):
    capacity, used, free = data["capacity"], data["used"], data["free"]
    prices = data["prices_gwei_per_hour"]
    stake, free_stake = int(data["stake_wei"]), int(data["free_stake_wei"])
    minimum = int(data["min_provider_stake_wei"])
    rows = [
        ("status", data["status"]), ("endpoint", escape(data["endpoint"]) or "-"),
        ("cpu", f"{_number(capacity['cpu_millicores'], 1000)} cores, {_number(used['cpu_millicores'], 1000)} used, "
                f"{_number(free['cpu_millicores'], 1000)} free"),
        ("memory", f"{_number(capacity['memory_mib'], 1024)} GiB, {_number(used['memory_mib'], 1024)} used, "
                   f"{_number(free['memory_mib'], 1024)} free"),
        ("storage", f"{capacity['storage_gib']} GiB, {used['storage_gib']} used, {free['storage_gib']} free"),
        ("gpus", f"{capacity['gpu_count']}, {used['gpu_count']} used, {free['gpu_count']} free"),
        ("gpu model", escape(capacity["gpu_model"]) or "-"), ("region", escape(capacity["region"]) or "-"),
        ("price per core-hour", f"{gwei_price_text(prices['cpu_core'])} tokens"),
        ("price per GiB-hour of memory", f"{gwei_price_text(prices['memory_gib'])} tokens"),
        ("price per GPU-hour", f"{gwei_price_text(prices['gpu'])} tokens"),
        ("price per GiB-hour of storage", f"{gwei_price_text(prices['storage_gib'])} tokens"),
        ("stake", tokens(stake)), ("locked as collateral", tokens(int(data["locked_collateral_wei"]))),
        ("free stake", tokens(free_stake) + (f" (below the minimum stake of {tokens(minimum)}: not matched)"
                                             if free_stake < minimum else "")),
        ("unbonding", tokens(int(data["unbonding_wei"])) + (
            f", withdrawable from {when(data['unbonding_unlocks_at'], now)}" if data["unbonding_unlocks_at"] else "")),
        ("completed jobs", data["reputation"]["completed_jobs"]),
        ("missed deadlines", data["reputation"]["missed_deadlines"]),
        ("disputes lost", data["reputation"]["disputes_lost"]),
        ("lapsed matches", data["reputation"]["lapsed_matches"]),
        ("total slashed", tokens(int(data["reputation"]["total_slashed_wei"]))),
        ("market credit", tokens(int(data["credit_wei"]))),
    ]
    return key_value_table(f"provider {data['provider']}", rows)


def _registered(app: App, address: str) -> dict:
    record = record_of(app, address)
    if record["status"] == 0:
        raise InputError(f"{address} is not a registered provider: register first (agora provider register)")
    return record


def _sent(app: App, account, call) -> dict:
    """transact, with the registry's status errors explained in words."""
    from agora.chain.contracts import ContractRevert

    try:
        return transact(app, account, call)
    except ContractRevert as exc:
        if exc.name == "ProviderStatusMismatch":
            raise InputError(f"the provider is {STATUSES[exc.arguments['status']]}; {call.fn_name} needs it "
                             f"{STATUSES[exc.arguments['required']]} ({exc})") from None
        raise


def _show_status(app: App, address: str, json_output: bool, extra: dict | None = None) -> None:
    data = status_data(app, address)
    if extra:
        data = {**data, **extra}
    emit(data, json_output=json_output, table=status_table(data, chain_time(app.web3)))


# -- commands -------------------------------------------------------------------------------------


@app.command("register")
def register(
    cpu: Annotated[str, _option("--cpu", "CORES", CPU_HELP, required=True)],
    memory_gib: Annotated[str, _option("--memory-gib", "GIB", MEMORY_HELP, required=True)],
    price_cpu: Annotated[str, _option("--price-cpu", "TOKENS", PRICE_CPU_HELP, required=True)],
    price_memory: Annotated[str, _option("--price-memory", "TOKENS", PRICE_MEMORY_HELP, required=True)],
    endpoint: Annotated[str, _option("--endpoint", "URL", ENDPOINT_HELP, required=True)],
    stake: Annotated[str, _option("--stake", "TOKENS", "tokens to stake now (approved for the registry first "
                                                       "if needed)", required=True)],
    storage_gib: Annotated[str, _option("--storage-gib", "GIB", STORAGE_HELP + " (default 0)")] = "0",
    gpus: Annotated[str, _option("--gpus", "N", GPUS_HELP + " (default 0)")] = "0",
    gpu_model: Annotated[str, _option("--gpu-model", "NAME", GPU_MODEL_HELP)] = "",
    region: Annotated[str, _option("--region", "NAME", REGION_HELP)] = "",
    price_gpu: Annotated[str, _option("--price-gpu", "TOKENS", PRICE_GPU_HELP + " (default 0)")] = "0",
    price_storage: Annotated[str, _option("--price-storage", "TOKENS", PRICE_STORAGE_HELP + " (default 0)")] = "0",
    json_output: JsonOption = False,
) -> int:
    """Register your wallet as a provider: a listing (capacity and hourly prices) and a stake."""
    capacity = Resources(cpu_millicores(cpu), memory_mib(memory_gib),
                         whole(storage_gib, "--storage-gib", "GiB", UINT32), whole(gpus, "--gpus", "GPUs", UINT16),
                         label_of(gpu_model, "--gpu-model"), label_of(region, "--region"))
    if capacity.cpu_millicores == 0 or capacity.memory_mib == 0:
        raise InputError("a listing must offer some CPU and memory (the registry refuses it: ZeroCapacity)")
    prices = HourlyPrices(price_gwei(price_cpu, "--price-cpu"), price_gwei(price_memory, "--price-memory"),
                          price_gwei(price_gpu, "--price-gpu"), price_gwei(price_storage, "--price-storage"))
    amount = parse_tokens(stake, "--stake")
    endpoint = endpoint_of(endpoint)
    app_ = open_app()
    account = load_account(app_)
    if record_of(app_, account.address)["status"] != 0:
        raise InputError(f"{account.address} is registered already: change its listing with `agora provider update`")
    registry = app_.contracts.registry
    if amount:
        ensure_allowance(app_, account, registry.address, amount)
    receipt = transact(app_, account, registry.functions.register(capacity.as_tuple(), prices.as_tuple(), endpoint,
                                                                  amount))
    _show_status(app_, account.address, json_output, receipt_data(receipt))
    return 0


@app.command("update")
def update(
    cpu: Annotated[str | None, _option("--cpu", "CORES", CPU_HELP)] = None,
    memory_gib: Annotated[str | None, _option("--memory-gib", "GIB", MEMORY_HELP)] = None,
    storage_gib: Annotated[str | None, _option("--storage-gib", "GIB", STORAGE_HELP)] = None,
    gpus: Annotated[str | None, _option("--gpus", "N", GPUS_HELP)] = None,
    gpu_model: Annotated[str | None, _option("--gpu-model", "NAME", GPU_MODEL_HELP + "; '' for none")] = None,
    region: Annotated[str | None, _option("--region", "NAME", REGION_HELP + "; '' for none")] = None,
    price_cpu: Annotated[str | None, _option("--price-cpu", "TOKENS", PRICE_CPU_HELP)] = None,
    price_memory: Annotated[str | None, _option("--price-memory", "TOKENS", PRICE_MEMORY_HELP)] = None,
    price_gpu: Annotated[str | None, _option("--price-gpu", "TOKENS", PRICE_GPU_HELP)] = None,
    price_storage: Annotated[str | None, _option("--price-storage", "TOKENS", PRICE_STORAGE_HELP)] = None,
    endpoint: Annotated[str | None, _option("--endpoint", "URL", ENDPOINT_HELP)] = None,
    json_output: JsonOption = False,
) -> int:
    """Change your listing: what you give changes, the rest stays as registered.

    Jobs already matched keep their prices; capacity may not drop below what running jobs
    use (CapacityBelowUsage)."""
    given = [cpu, memory_gib, storage_gib, gpus, gpu_model, region, price_cpu, price_memory, price_gpu, price_storage,
             endpoint]
    if all(value is None for value in given):
        raise InputError("nothing to change: give at least one of --cpu, --memory-gib, --storage-gib, --gpus, "
                         "--gpu-model, --region, --price-cpu, --price-memory, --price-gpu, --price-storage, --endpoint")
    # Every value is checked before the chain is asked anything.
    new_cpu = cpu_millicores(cpu) if cpu is not None else None
    new_memory = memory_mib(memory_gib) if memory_gib is not None else None
    new_storage = whole(storage_gib, "--storage-gib", "GiB", UINT32) if storage_gib is not None else None
    new_gpus = whole(gpus, "--gpus", "GPUs", UINT16) if gpus is not None else None
    new_model = label_of(gpu_model, "--gpu-model") if gpu_model is not None else None
    new_region = label_of(region, "--region") if region is not None else None
    new_prices = [price_gwei(text, flag) if text is not None else None for text, flag in
                  ((price_cpu, "--price-cpu"), (price_memory, "--price-memory"), (price_gpu, "--price-gpu"),
                   (price_storage, "--price-storage"))]
    new_endpoint = endpoint_of(endpoint) if endpoint is not None else None
    app_ = open_app()
    account = load_account(app_)
    record = _registered(app_, account.address)
    old, old_prices = record["capacity"], record["prices"]

    def keep(new, current):
        return current if new is None else new

    capacity = Resources(keep(new_cpu, old.cpu_millicores), keep(new_memory, old.memory_mib),
                         keep(new_storage, old.storage_gib), keep(new_gpus, old.gpu_count),
                         keep(new_model, old.gpu_model), keep(new_region, old.region))
    if capacity.cpu_millicores == 0 or capacity.memory_mib == 0:
        raise InputError("a listing must offer some CPU and memory (the registry refuses it: ZeroCapacity)")
    prices = HourlyPrices(*(keep(new, current) for new, current in zip(new_prices, old_prices.as_tuple(), strict=True)))
    receipt = transact(app_, account, app_.contracts.registry.functions.updateListing(
        capacity.as_tuple(), prices.as_tuple(), keep(new_endpoint, record["endpoint"])))
    _show_status(app_, account.address, json_output, receipt_data(receipt))
    return 0


@app.command("stake")
def stake(amount: Tokens, json_output: JsonOption = False) -> int:
    """Add tokens to your stake (approved for the registry first if needed)."""
    wei = parse_tokens(amount, "the stake to add")
    if wei == 0:
        raise InputError("the stake to add is zero: give a positive amount")
    app_ = open_app()
    account = load_account(app_)
    _registered(app_, account.address)
    registry = app_.contracts.registry
    ensure_allowance(app_, account, registry.address, wei)
    receipt = transact(app_, account, registry.functions.addStake(wei))
    record = record_of(app_, account.address)
    data = {"provider": account.address, "added_wei": str(wei), "stake_wei": str(record["stake"]),
            **receipt_data(receipt)}
    emit_line(data, json_output=json_output,
              line=f"staked {tokens(wei)} tokens more: the stake of {account.address} is now {tokens(record['stake'])}")
    return 0


@app.command("unbond")
def unbond(amount: Tokens, json_output: JsonOption = False) -> int:
    """Start unbonding stake not locked as collateral; withdraw it after the unbonding period.

    A new request adds to what is unbonding and restarts the period for all of it."""
    wei = parse_tokens(amount, "the stake to unbond")
    if wei == 0:
        raise InputError("the stake to unbond is zero: give a positive amount")
    app_ = open_app()
    account = load_account(app_)
    receipt = _sent(app_, account, app_.contracts.registry.functions.requestUnbonding(wei))
    record = record_of(app_, account.address)
    data = {"provider": account.address, "unbonded_wei": str(wei), "stake_wei": str(record["stake"]),
            "unbonding_wei": str(record["unbonding"]), "unlocks_at": record["unlocks_at"], **receipt_data(receipt)}
    emit_line(data, json_output=json_output,
              line=f"unbonding {tokens(record['unbonding'])} tokens (stake now {tokens(record['stake'])}): "
                   f"withdrawable from {when(record['unlocks_at'], chain_time(app_.web3))} with `agora provider "
                   f"withdraw`")
    return 0


@app.command("withdraw")
def withdraw(json_output: JsonOption = False) -> int:
    """Withdraw unbonded stake whose period has passed, and your market credit (payouts)."""
    app_ = open_app()
    account = load_account(app_)
    market, registry = app_.contracts.market, app_.contracts.registry
    credit = market.functions.creditOf(account.address).call()
    record = record_of(app_, account.address)
    lines: list[str] = []
    sent: list[str] = []
    data: dict[str, Any] = {"provider": account.address, "credit_withdrawn_wei": "0", "stake_withdrawn_wei": "0",
                            "transactions": sent}
    if credit:
        receipt = transact(app_, account, market.functions.withdraw())
        data["credit_withdrawn_wei"] = str(credit)
        sent.append(receipt_data(receipt)["transaction"])
        lines.append(f"withdrew {tokens(credit)} tokens of market credit")
    if record["unbonding"]:
        from agora.chain.contracts import ContractRevert

        try:
            receipt = transact(app_, account, registry.functions.withdrawUnbonded())
        except ContractRevert as exc:
            if exc.name != "UnbondingNotElapsed":
                raise
            data["unbonding_wei"], data["unlocks_at"] = str(record["unbonding"]), record["unlocks_at"]
            lines.append(f"{tokens(record['unbonding'])} tokens are still unbonding, withdrawable from "
                         f"{when(record['unlocks_at'], chain_time(app_.web3))}")
        else:
            data["stake_withdrawn_wei"] = str(record["unbonding"])
            sent.append(receipt_data(receipt)["transaction"])
            lines.append(f"withdrew {tokens(record['unbonding'])} tokens of unbonded stake")
    if not sent:
        if record["unbonding"]:
            raise InputError(f"nothing to withdraw yet: {lines[-1]}")
        raise InputError(f"nothing to withdraw: {account.address} has no market credit and no stake unbonding "
                         f"(start with `agora provider unbond TOKENS`)")
    emit_line(data, json_output=json_output, line="\n".join(lines))
    return 0


@app.command("pause")
def pause(json_output: JsonOption = False) -> int:
    """Stop new matches; running jobs go on."""
    return _set_status("pause", json_output)


@app.command("resume")
def resume(json_output: JsonOption = False) -> int:
    """Let the market match you again."""
    return _set_status("resume", json_output)


def _set_status(action: str, json_output: bool) -> int:
    app_ = open_app()
    account = load_account(app_)
    _registered(app_, account.address)
    receipt = _sent(app_, account, getattr(app_.contracts.registry.functions, action)())
    state = STATUSES[record_of(app_, account.address)["status"]]
    meaning = ": no new matches; running jobs go on" if action == "pause" else ": it can be matched again"
    emit_line({"provider": account.address, "status": state, **receipt_data(receipt)}, json_output=json_output,
              line=f"{account.address} is {state} now{meaning}")
    return 0


@app.command("status")
def status(
    who: Annotated[str | None, typer.Argument(metavar="ADDRESS", show_default=False,
                                              help="which provider (default: your wallet)")] = None,
    json_output: JsonOption = False,
) -> int:
    """Show a provider's listing, capacity, stake, collateral, unbonding, reputation and credit."""
    app_ = open_app()
    if who is not None:
        address = parse_address(who, "provider")
    else:
        from agora.cli.wallet import configured_address

        address = configured_address()
    data = status_data(app_, address)
    if data["status"] == "None" and not json_output:
        print(f"{address} is not a registered provider (register with `agora provider register`)")
        return 0
    emit(data, json_output=json_output, table=status_table(data, chain_time(app_.web3)))
    return 0


@app.command("run")
def run() -> int:
    """Run the provider agent until Ctrl-C: take matched jobs, run them, submit results.

    It keeps the listing and stake as AGORA_AGENT_* say, accepts or declines matches, runs
    each job in the sandbox and submits its result."""
    from agora.agent.runner import run_agent

    return run_agent()

