"""`agora job`: post a WebAssembly job, watch it, fetch and verify its result, settle it.

    agora job post examples/jobs/sieve.wat input.bin --duration 10m
    agora job status 0x...
    agora job result 0x... --verify
    agora job dispute 0x...

Token amounts are given in tokens as decimal numbers (`--max-price 2.5`), read exactly;
`--json` prints only JSON (amounts in token wei, as strings when above 2^53).
"""

from __future__ import annotations

import re
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from agora.cli.common import JsonOption, console, emit, errors, key_value_table, load_account, open_app, tokens
from agora.errors import AgoraError
from agora.market.spec import DEFAULT_LIMITS

if TYPE_CHECKING:
    from collections.abc import Iterator

    from agora.buyer.service import JobStatus, Offer, Verification

app = typer.Typer(help="Post WebAssembly jobs to the market, watch them, fetch, verify and settle their results.",
                  no_args_is_help=True)

MISMATCH_EXIT = 3
MIB, KIB = 2**20, 2**10
TOKEN = 10**18

DEFAULT_MEMORY_LIMIT_MIB = DEFAULT_LIMITS.memory_bytes // MIB
DEFAULT_OUTPUT_LIMIT_KIB = DEFAULT_LIMITS.output_bytes // KIB
_DURATION = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")


class JobCommandError(AgoraError):
    """An argument of an `agora job` command that cannot be read."""


# -- reading arguments ----------------------------------------------------------------------


def parse_duration(text: str, option: str) -> int:
    """Seconds from "90", "90s", "10m", "1h30m", "2d"; JobCommandError otherwise."""
    raw = text.strip().lower()
    if raw.isdigit():
        seconds = int(raw)
    else:
        match = _DURATION.match(raw)
        if not raw or match is None:
            raise JobCommandError(f"{option} {text!r} is not a duration (seconds, or like 90s, 10m, 1h30m, 2d)")
        seconds = sum(int(value) * unit for value, unit in zip(match.groups(), (86_400, 3600, 60, 1), strict=True)
                      if value)
    if seconds <= 0:
        raise JobCommandError(f"{option} {text!r} must be longer than 0 seconds")
    return seconds


def _decimal(text: str, option: str) -> Decimal:
    try:
        value = Decimal(text.strip().replace("_", ""))
    except InvalidOperation:
        value = Decimal("NaN")
    if not value.is_finite():
        raise JobCommandError(f"{option} {text!r} is not a number")
    return value


def parse_tokens(text: str, option: str = "--max-price") -> int:
    """Token wei from a decimal number of tokens ("2.5"), exactly; JobCommandError for more
    than 18 decimals, a negative amount or something that is not a number."""
    value = _decimal(text, option)
    wei = value * TOKEN
    if wei != wei.to_integral_value():
        raise JobCommandError(f"{option} {text!r} has more than 18 decimals (a token has 10^18 wei)")
    if wei <= 0:
        raise JobCommandError(f"{option} {text!r} must be above 0 tokens")
    return int(wei)


def _scaled(text: str, option: str, scale: int, unit: str, *, minimum: int = 0) -> int:
    value = _decimal(text, option) * scale
    if value != value.to_integral_value():
        raise JobCommandError(f"{option} {text!r} is not a whole number of {unit}")
    if value < minimum:
        raise JobCommandError(f"{option} {text!r} must be at least {Decimal(minimum) / scale}")
    return int(value)


def _job(text: str) -> bytes:
    from agora.buyer.service import parse_job_id

    return parse_job_id(text)


def _when(timestamp: int | None) -> str:
    if timestamp is None:
        return "-"
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _hex(value: bytes | None) -> str:
    return "0x" + value.hex() if value else "-"


@contextmanager
def _market(*, wallet: bool = True, blobs: bool = False) -> Iterator[dict[str, Any]]:
    """The pieces a command needs: contracts and web3, the wallet, a blob client."""
    from agora.buyer.service import blob_client

    application = open_app()
    parts: dict[str, Any] = {"contracts": application.contracts, "web3": application.web3}
    if wallet:
        parts["account"] = load_account(application)
    client = blob_client(application.settings) if blobs else None
    if client is not None:
        parts["blobs"] = client
    try:
        yield parts
    finally:
        if client is not None:
            client.close()


# -- tables -----------------------------------------------------------------------------------


def offers_table(found: list[Offer]) -> Table | str:
    if not found:
        return "no provider can run this job now"
    table = Table(title="best offers now (cheapest first)", title_justify="left")
    numbers = ("price (tokens)", "collateral (tokens)", "completed jobs")
    for column in ("provider", "price (tokens)", "region", "GPU model", "collateral (tokens)", "completed jobs"):
        table.add_column(column, justify="right" if column in numbers else "left")
    for offer in found:
        table.add_row(offer.provider, _exact(offer.price), offer.region or "-", offer.gpu_model or "-",
                      _exact(offer.collateral), str(offer.completed_jobs))
    return table


def _exact(wei: int) -> str:
    """Token wei as tokens with every decimal that is not zero ("1,000", "0.018333335")."""
    return tokens(wei, 18).rstrip("0").rstrip(".")


def _price(wei: int | None) -> str:
    return "-" if wei is None else _exact(wei) + " tokens"


def status_table(status: JobStatus) -> Table:
    rows: list[tuple[str, Any]] = [
        ("job", _hex(status.job_id)), ("state", status.state), ("buyer", status.buyer),
        ("ceiling (escrow)", _price(status.max_price)), ("price", _price(status.price)),
        ("provider", status.provider or "-"), ("matchmaker", status.matchmaker or "-"),
    ]
    if status.deadline is not None and status.deadline != status.expires_at:
        rows.append((status.deadline_meaning or "deadline", _when(status.deadline)))
    rows += [("expires", _when(status.expires_at)), ("result hash", _hex(status.result_hash)),
             ("manifest", status.spec_id), ("parameter version", status.params_version or "-")]
    return key_value_table(f"job {_hex(status.job_id)}", rows)


def _status_json(status: JobStatus) -> dict[str, Any]:
    data = {key: getattr(status, key) for key in ("job_id", "state", "buyer", "max_price", "expires_at", "spec_id",
                                                   "provider", "price", "matchmaker", "deadline", "deadline_meaning",
                                                   "params_version", "result_hash")}
    terms = status.terms
    data["terms"] = {"duration_seconds": terms.duration_seconds, "salt": terms.salt,
                     "resources": _resources_json(terms.resources)}
    return data


def _resources_json(resources: Any) -> dict[str, Any]:
    from agora.market.terms import label_text

    return {"cpu_millicores": resources.cpu_millicores, "memory_mib": resources.memory_mib,
            "storage_gib": resources.storage_gib, "gpu_count": resources.gpu_count,
            "gpu_model": label_text(resources.gpu_model), "region": label_text(resources.region)}


# -- commands --------------------------------------------------------------------------------


@app.command()
def post(
    module: Annotated[Path, typer.Argument(
        metavar="MODULE", help="the job's module: a .wasm binary, or a .wat text file (compiled)", show_default=False)],
    input_file: Annotated[Path, typer.Argument(metavar="INPUT", help="a file whose bytes are the job's input",
                                               show_default=False)],
    cpu: Annotated[str, typer.Option(help="CPU cores (0.5 is 500 millicores)")] = "1",
    memory_gib: Annotated[str, typer.Option(help="memory in GiB (0.5 is 512 MiB)")] = "1",
    storage_gib: Annotated[int, typer.Option(min=0, help="storage in GiB")] = 0,
    gpus: Annotated[int, typer.Option(min=0, help="GPUs")] = 0,
    gpu_model: Annotated[str, typer.Option(help="GPU model the providers must list (empty: any)")] = "",
    region: Annotated[str, typer.Option(help="region the providers must be in (empty: any)")] = "",
    duration: Annotated[str, typer.Option(help="time the provider has to deliver, from its acceptance")] = "10m",
    max_price: Annotated[str | None, typer.Option(
        help="ceiling in tokens, escrowed at posting (default: the cheapest offer plus 25%)",
        show_default=False)] = None,
    expires_in: Annotated[str, typer.Option(help="time the job may wait for a provider")] = "1h",
    fuel: Annotated[int, typer.Option(min=1, help="WebAssembly fuel (instructions) the run may use")] = (
        DEFAULT_LIMITS.fuel),
    memory_limit_mib: Annotated[int, typer.Option(min=1, help="linear memory the module may use, MiB")] = (
        DEFAULT_MEMORY_LIMIT_MIB),
    output_limit_kib: Annotated[int, typer.Option(min=1, help="largest output, KiB")] = DEFAULT_OUTPUT_LIMIT_KIB,
    wall_seconds: Annotated[float, typer.Option(help="wall-clock backstop of one run, seconds")] = (
        DEFAULT_LIMITS.wall_seconds),
    below_offers: Annotated[bool, typer.Option(
        "--below-offers", help="post even if the ceiling is below every offer (it waits for a cheaper one)")] = False,
    json_output: JsonOption = False,
) -> None:
    """Post a job: show the best offers, upload its data to the blob nodes, escrow the ceiling, post it.

    Exits 1 without posting if the ceiling is below every offer (unless --below-offers)."""
    from agora.buyer.service import CeilingBelowOffers, load_module, offers, post_job
    from agora.market.spec import Limits
    from agora.market.terms import LabelTooLong, Resources, label

    try:
        labels = label(gpu_model), label(region)
    except LabelTooLong as exc:
        raise JobCommandError(str(exc)) from None
    resources = Resources(cpu_millicores=_scaled(cpu, "--cpu", 1000, "millicores", minimum=1),
                          memory_mib=_scaled(memory_gib, "--memory-gib", 1024, "MiB"), storage_gib=storage_gib,
                          gpu_count=gpus, gpu_model=labels[0], region=labels[1])
    limits = Limits(fuel=fuel, memory_bytes=memory_limit_mib * MIB, output_bytes=output_limit_kib * KIB,
                    wall_seconds=wall_seconds)
    duration_seconds = parse_duration(duration, "--duration")
    expires_in_seconds = parse_duration(expires_in, "--expires-in")
    ceiling = parse_tokens(max_price) if max_price is not None else None
    module_bytes = load_module(module)
    try:
        input_bytes = input_file.read_bytes()
    except OSError as exc:
        raise JobCommandError(f"cannot read input {input_file}: {exc.strerror or exc}") from None

    with _market(blobs=True) as parts:
        found = offers(contracts=parts["contracts"], resources=resources, duration_seconds=duration_seconds)
        if not json_output:
            console.print(offers_table(found))
        try:
            posted = post_job(**parts, module=module_bytes, input=input_bytes, limits=limits, resources=resources,
                              duration_seconds=duration_seconds, max_price=ceiling,
                              expires_in_seconds=expires_in_seconds, allow_below_offers=below_offers)
        except CeilingBelowOffers as exc:
            if json_output:
                raise
            errors.print(f"warning: {exc}", markup=False, soft_wrap=True)
            raise typer.Exit(1) from None
    data = {"job_id": posted.job_id, "max_price": posted.max_price, "expires_at": posted.expires_at,
            "spec_id": posted.spec_id, "module_id": posted.module_id, "input_id": posted.input_id,
            "transaction": posted.transaction, "buyer": posted.terms.buyer, "salt": posted.terms.salt,
            "duration_seconds": posted.terms.duration_seconds, "resources": _resources_json(resources),
            "limits": limits.as_dict(), "offers": posted.offers[:5]}
    job = _hex(posted.job_id)
    text = key_value_table("posted", [
        ("job", job), ("escrow", _price(posted.max_price)), ("expires", _when(posted.expires_at)),
        ("manifest", posted.spec_id), ("transaction", posted.transaction),
    ])
    emit(data, json_output=json_output, table=text)
    if not json_output:
        console.print(f"watch it with `agora job status {job}`")


@app.command()
def status(
    job_id: Annotated[str, typer.Argument(help="the job's id (0x and 64 hex digits)", show_default=False)],
    json_output: JsonOption = False,
) -> None:
    """Show where a job stands: state, provider, price, next deadline, result hash."""
    from agora.buyer.service import job_status

    job = _job(job_id)
    with _market(wallet=False) as parts:
        found = job_status(contracts=parts["contracts"], job_id=job)
    emit(_status_json(found), json_output=json_output, table=status_table(found))


@app.command("list")
def list_(
    all_buyers: Annotated[bool, typer.Option("--all", help="every buyer's jobs, not only this wallet's")] = False,
    json_output: JsonOption = False,
) -> None:
    """List this wallet's jobs (or everyone's, with --all), oldest first."""
    from agora.buyer.service import list_jobs

    with _market(wallet=not all_buyers) as parts:
        buyer = None if all_buyers else parts["account"].address
        found = list_jobs(contracts=parts["contracts"], buyer=buyer)
    if not found:
        table: Table | str = "no jobs" + ("" if all_buyers else f" posted by {buyer}")
    else:
        table = Table(title="jobs" if all_buyers else f"jobs of {buyer}", title_justify="left")
        for column in ("job", "state", "ceiling", "price", "provider", "next deadline"):
            table.add_column(column)
        for s in found:
            table.add_row(_hex(s.job_id), s.state, _price(s.max_price), _price(s.price), s.provider or "-",
                          f"{s.deadline_meaning} {_when(s.deadline)}" if s.deadline is not None else "-")
    emit([_status_json(s) for s in found], json_output=json_output, table=table)


def _shown(output: bytes) -> str:
    """The output as text when it is printable UTF-8, else as hex."""
    try:
        text = output.decode()
    except UnicodeDecodeError:
        return "0x" + output.hex()
    if all(ch.isprintable() or ch in "\n\r\t" for ch in text):
        return text
    return "0x" + output.hex()


def _verdict(check: Verification, job: str) -> str:
    if check.matches:
        return "verified: the provider's result matches a local run"
    submitted = check.submitted_status or "record not on any blob node"
    return (f"MISMATCH: the provider submitted {_hex(check.submitted_hash)} ({submitted}); a local run gives "
            f"{_hex(check.local_hash)} ({check.local_status}, {check.fuel_used:,} fuel"
            f"{'; ' + check.detail if check.detail and check.local_status != 'ok' else ''}): dispute it with "
            f"`agora job dispute {job}`")


@app.command()
def result(
    job_id: Annotated[str, typer.Argument(help="the job's id (0x and 64 hex digits)", show_default=False)],
    out: Annotated[Path | None, typer.Option(help="write the output's bytes to this file", show_default=False)] = None,
    verify: Annotated[bool, typer.Option("--verify", help="run the module locally and compare; exit 3 on a "
                                                          "mismatch")] = False,
    json_output: JsonOption = False,
) -> None:
    """Fetch a job's result from the blob nodes; with --verify, check it against a local run.

    Exits 3 when the provider's result does not match the local run."""
    from agora.buyer.service import ResultUnavailable, fetch_result, verify_result

    job = _job(job_id)
    check: Verification | None = None
    with _market(wallet=False, blobs=True) as parts:
        contracts, blobs = parts["contracts"], parts["blobs"]
        if verify:
            check = verify_result(contracts=contracts, blobs=blobs, job_id=job)
            # A local run that matches the submitted hash is the provider's result.
            record = check.submitted or (check.local if check.matches else None)
            if record is None:
                try:
                    record = fetch_result(contracts=contracts, blobs=blobs, job_id=job)
                except ResultUnavailable:
                    record = None
        else:
            record = fetch_result(contracts=contracts, blobs=blobs, job_id=job)
    if out is not None and record is not None:
        try:
            out.write_bytes(record.output)
        except OSError as exc:
            raise JobCommandError(f"cannot write {out}: {exc.strerror or exc}") from None
    data: dict[str, Any] = {"job_id": job, "status": record.status if record else None,
                            "output": record.output if record else None, "written_to": str(out) if out else None}
    if record is not None and record.output:
        try:
            data["output_text"] = record.output.decode()
        except UnicodeDecodeError:
            data["output_text"] = None
    if check is not None:
        data["verification"] = {key: getattr(check, key) for key in (
            "matches", "submitted_hash", "local_hash", "submitted_status", "local_status", "fuel_used", "detail",
            "spec_id")}
    if json_output:
        emit(data, json_output=True)
    else:
        if record is None:
            console.print("the provider's result record is on no blob node")
        else:
            console.print(f"status: {record.status}")
            if out is not None:
                console.print(f"output: {len(record.output):,} bytes written to {out}")
            elif record.output:
                console.print(_shown(record.output), markup=False, highlight=False, soft_wrap=True)
        if check is not None:
            console.print(_verdict(check, _hex(job)), markup=False, soft_wrap=True)
    if check is not None and not check.matches:
        raise typer.Exit(MISMATCH_EXIT)


@app.command()
def cancel(
    job_id: Annotated[str, typer.Argument(help="the job's id (0x and 64 hex digits)", show_default=False)],
    json_output: JsonOption = False,
) -> None:
    """Cancel a job that is Open or Matched; its escrow is credited back at once."""
    from agora.buyer.service import cancel as cancel_job

    job = _job(job_id)
    with _market() as parts:
        sent = cancel_job(contracts=parts["contracts"], web3=parts["web3"], account=parts["account"], job_id=job)
    emit(sent, json_output=json_output,
         table=f"cancelled {_hex(job)}: {_price(sent.amount)} credited back (`agora job withdraw` sends them)")


@app.command()
def confirm(
    job_id: Annotated[str, typer.Argument(help="the job's id (0x and 64 hex digits)", show_default=False)],
    json_output: JsonOption = False,
) -> None:
    """Accept a submitted result: the job completes and pays the provider now."""
    from agora.buyer.service import confirm as confirm_job

    job = _job(job_id)
    with _market() as parts:
        sent = confirm_job(contracts=parts["contracts"], web3=parts["web3"], account=parts["account"], job_id=job)
    emit(sent, json_output=json_output,
         table=f"confirmed {_hex(job)}: the job is Completed; {_price(sent.amount)} of the ceiling credited back")


@app.command()
def dispute(
    job_id: Annotated[str, typer.Argument(help="the job's id (0x and 64 hex digits)", show_default=False)],
    json_output: JsonOption = False,
) -> None:
    """Dispute a submitted result (within its challenge window, posting the bond); the arbiter rules."""
    from agora.buyer.service import dispute as dispute_job

    job = _job(job_id)
    with _market() as parts:
        sent = dispute_job(contracts=parts["contracts"], web3=parts["web3"], account=parts["account"], job_id=job)
    deadline = sent.detail.get("arbitrationDeadline")
    emit(sent, json_output=json_output,
         table=f"disputed {_hex(job)}: bond {_price(sent.amount)} posted; the arbiter rules by "
               f"{_when(deadline)}")


@app.command()
def withdraw(json_output: JsonOption = False) -> None:
    """Send this wallet what the market credited to it (refunds, savings, won disputes)."""
    from agora.buyer.service import withdraw as withdraw_credit

    with _market() as parts:
        sent = withdraw_credit(contracts=parts["contracts"], web3=parts["web3"], account=parts["account"])
    emit(sent, json_output=json_output, table=f"withdrew {_price(sent.amount)}")
