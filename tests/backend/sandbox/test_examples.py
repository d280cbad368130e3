"""The example jobs (examples/jobs): built from their WAT, run in the sandbox, checked against Python."""

from __future__ import annotations

import hashlib
import random
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from agora.market.spec import Limits, ResultRecord
from agora.sandbox import check_module, compile_wat, run_module

JOBS = Path(__file__).resolve().parents[3] / "examples" / "jobs"
GENEROUS = Limits(fuel=10**11, memory_bytes=64 * 2**20, output_bytes=2**20, wall_seconds=120.0)


@pytest.fixture(scope="module")
def modules() -> dict[str, bytes]:
    return {name: compile_wat((JOBS / f"{name}.wat").read_text()) for name in ("hashchain", "sieve", "matmul")}


def ok(module: bytes, data: bytes, limits: Limits = GENEROUS) -> bytes:
    outcome = run_module(module, data, limits)
    assert (outcome.status, outcome.detail) == ("ok", f"{len(outcome.output):,} bytes of output")
    return outcome.output


# --- Python references ---------------------------------------------------------------------------

def hashchain(steps: int, seed: bytes) -> bytes:
    value = seed
    for _ in range(steps):
        value = hashlib.sha256(value).digest()
    return value


def sieve(limit: int) -> bytes:
    composite = bytearray(max(limit, 2))
    primes = []
    for n in range(2, limit):
        if not composite[n]:
            primes.append(n)
            composite[n * n::n] = b"\1" * len(range(n * n, limit, n))
    return struct.pack(f"<I{len(primes[-16:])}I", len(primes), *primes[-16:])


def matmul(n: int, a: list[int], b: list[int]) -> bytes:
    def wrap(value: int) -> int:
        value &= 0xFFFF_FFFF
        return value - 2**32 if value >= 2**31 else value
    product = [wrap(sum(a[i * n + k] * b[k * n + j] for k in range(n))) for i in range(n) for j in range(n)]
    return struct.pack(f"<{n * n}i", *product)


def matmul_input(n: int, a: list[int], b: list[int]) -> bytes:
    return struct.pack(f"<I{2 * n * n}i", n, *a, *b)


def random_matrices(n: int, seed: int) -> tuple[list[int], list[int]]:
    rng = random.Random(seed)
    entries = [rng.randint(-2**31, 2**31 - 1) for _ in range(2 * n * n)]
    return entries[:n * n], entries[n * n:]


# --- hashchain -----------------------------------------------------------------------------------

def test_AHashchainOfZeroStepsIsItsSeed(modules):
    assert ok(modules["hashchain"], struct.pack("<Q", 0) + b"the seed") == b"the seed"


@pytest.mark.parametrize("seed_length", [0, 1, 55, 56, 63, 64, 65, 119, 120, 200, 1000])
def test_AHashchainStepIsSha256(modules, seed_length):
    """Seed lengths around the padding boundaries: 55/56 bytes (one or two final blocks), 64 (whole block)."""
    seed = bytes(range(256)) * 4
    assert ok(modules["hashchain"], struct.pack("<Q", 1) + seed[:seed_length]) == \
        hashlib.sha256(seed[:seed_length]).digest()


@pytest.mark.parametrize("steps", [2, 3, 1000, 20000])
def test_AHashchainOfManyStepsIsSha256AppliedThatManyTimes(modules, steps):
    assert ok(modules["hashchain"], struct.pack("<Q", steps) + b"agora") == hashchain(steps, b"agora")


def test_AHashchainOfAnEmptySeedHashesTheEmptyString(modules):
    assert ok(modules["hashchain"], struct.pack("<Q", 1)).hex() == \
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


def test_AHashchainInputShorterThanItsCountTraps(modules):
    assert run_module(modules["hashchain"], b"\1\0\0\0", GENEROUS).record == ResultRecord("trap")


# --- sieve ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("limit", [0, 1, 2, 3, 4, 5, 10, 30, 53, 54, 100, 1000, 65536, 10**6])
def test_ASieveCountsThePrimesBelowItsLimit(modules, limit):
    assert ok(modules["sieve"], struct.pack("<I", limit)) == sieve(limit)


def test_ASieveOfAMillionFindsTheKnownCount(modules):
    output = ok(modules["sieve"], struct.pack("<I", 10**6))
    assert struct.unpack("<I", output[:4]) == (78498,)
    assert struct.unpack("<16I", output[4:])[-1] == 999983


def test_ASieveAtItsMaximumLimit(modules):
    output = ok(modules["sieve"], struct.pack("<I", 10**7))
    assert output == sieve(10**7)
    assert struct.unpack("<I", output[:4]) == (664579,)


def test_ASieveAboveItsMaximumLimitTraps(modules):
    outcome = run_module(modules["sieve"], struct.pack("<I", 10**7 + 1), GENEROUS)
    assert outcome.record == ResultRecord("trap")
    assert "unreachable" in outcome.detail


def test_ASieveWithoutMemoryForItsLimitTraps(modules):
    """memory.grow returns -1 under a 1 MiB limit; the job traps rather than sieve in memory it lacks."""
    small = Limits(fuel=10**11, memory_bytes=2**20, output_bytes=1024, wall_seconds=120.0)
    assert run_module(modules["sieve"], struct.pack("<I", 2 * 10**6), small).record == ResultRecord("trap")
    assert ok(modules["sieve"], struct.pack("<I", 2**20 - 65536), small) == sieve(2**20 - 65536)


def test_ASieveInputOfTheWrongLengthTraps(modules):
    assert run_module(modules["sieve"], struct.pack("<Q", 100), GENEROUS).record == ResultRecord("trap")


# --- matmul --------------------------------------------------------------------------------------

def test_AMatmulOfOneByOneMultipliesTheNumbers(modules):
    assert ok(modules["matmul"], matmul_input(1, [6], [-7])) == struct.pack("<i", -42)


def test_AMatmulOfTwoByTwo(modules):
    assert ok(modules["matmul"], matmul_input(2, [1, 2, 3, 4], [5, 6, 7, 8])) == struct.pack("<4i", 19, 22, 43, 50)


def test_AMatmulWraps(modules):
    assert ok(modules["matmul"], matmul_input(1, [2**31 - 1], [2])) == struct.pack("<i", -2)
    assert ok(modules["matmul"], matmul_input(2, [-2**31, -2**31, 1, 1], [-2**31, 0, -2**31, 0])) == \
        struct.pack("<4i", 0, 0, 0, 0)


@pytest.mark.parametrize("n", [1, 2, 3, 5, 16, 33])
def test_AMatmulMatchesPythonWithInt32Wrapping(modules, n):
    a, b = random_matrices(n, seed=n)
    assert ok(modules["matmul"], matmul_input(n, a, b)) == matmul(n, a, b)


def test_AMatmulOfZeroByZeroIsEmpty(modules):
    assert ok(modules["matmul"], struct.pack("<I", 0)) == b""


@pytest.mark.parametrize("data", [b"", b"\1\0\0", struct.pack("<Ii", 1, 5), struct.pack("<I3i", 1, 5, 6, 7),
                                  struct.pack("<I", 2**31)])
def test_AMatmulInputOfTheWrongLengthTraps(modules, data):
    assert run_module(modules["matmul"], data, GENEROUS).record == ResultRecord("trap")


# --- every job -----------------------------------------------------------------------------------

INPUTS = {
    "hashchain": struct.pack("<Q", 500) + b"seed",
    "sieve": struct.pack("<I", 100_000),
    "matmul": matmul_input(12, *random_matrices(12, seed=3)),
}


@pytest.mark.parametrize("name", list(INPUTS))
def test_TheSameRunTwiceGivesTheSameRecordAndFuel(modules, name):
    first, second = run_module(modules[name], INPUTS[name], GENEROUS), run_module(modules[name], INPUTS[name], GENEROUS)
    assert first.status == "ok"
    assert (first.record.encode(), first.fuel_used) == (second.record.encode(), second.fuel_used)


@pytest.mark.parametrize("name", list(INPUTS))
def test_FuelIsASharpBound(modules, name):
    """The least fuel a run needs is one number, on every machine: one unit less runs out of fuel.

    wasmtime checks fuel at function entries and loop headers, so the least fuel can be a few
    units below what the whole run uses (the operators after the last check); never more.
    """
    used = run_module(modules[name], INPUTS[name], GENEROUS).fuel_used

    def with_fuel(fuel: int):
        return run_module(modules[name], INPUTS[name], Limits(fuel, GENEROUS.memory_bytes, GENEROUS.output_bytes, 60.0))

    low, high = 1, used  # the least fuel that gives ok is in [low, high]
    while low < high:
        middle = (low + high) // 2
        low, high = (low, middle) if with_fuel(middle).status == "ok" else (middle + 1, high)
    assert used - 100 < low <= used
    assert with_fuel(low).record == run_module(modules[name], INPUTS[name], GENEROUS).record
    assert (with_fuel(low - 1).record, with_fuel(low - 1).fuel_used) == (ResultRecord("out_of_fuel"), low - 1)


@pytest.mark.parametrize("name", list(INPUTS))
def test_TooLittleFuelRunsOutOfFuel(modules, name):
    outcome = run_module(modules[name], INPUTS[name], Limits(10_000, 64 * 2**20, 2**20, 60.0))
    assert (outcome.status, outcome.fuel_used) == ("out_of_fuel", 10_000)


@pytest.mark.parametrize("name", list(INPUTS))
def test_EveryExampleKeepsTheModuleABI(modules, name):
    assert check_module(modules[name]) is None


def test_TheBuildScriptWritesAWasmForEachWat(tmp_path, modules):
    result = subprocess.run([sys.executable, str(JOBS / "build"), "--out-dir", str(tmp_path)],
                            capture_output=True, text=True, check=True)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["hashchain.wasm", "matmul.wasm", "sieve.wasm"]
    for name, module in modules.items():
        assert (tmp_path / f"{name}.wasm").read_bytes() == module
        assert hashlib.sha256(module).hexdigest() in result.stdout


def test_TheBuildScriptNamesTheWatThatDoesNotParse(tmp_path):
    broken = tmp_path / "broken.wat"
    broken.write_text("(module (func $f i32.addd))")
    result = subprocess.run([sys.executable, str(JOBS / "build"), str(broken), "--out-dir", str(tmp_path)],
                            capture_output=True, text=True)
    assert result.returncode == 1
    assert result.stderr.strip() == "build: broken.wat: unknown operator or unexpected token"


@pytest.mark.parametrize("args,expected", [
    (["hashchain", "1000", "my seed"], struct.pack("<Q", 1000) + b"my seed"),
    (["sieve", "1000000"], struct.pack("<I", 10**6)),
    (["matmul", "3", "--seed", "7"], None),
])
def test_MakeInputWritesWhatTheJobsRead(modules, args, expected):
    data = subprocess.run([sys.executable, str(JOBS / "make_input.py"), *args], capture_output=True, check=True).stdout
    if expected is not None:
        assert data == expected
    else:
        assert len(data) == 4 + 8 * 9 and data[:4] == struct.pack("<I", 3)
        entries = list(struct.unpack("<18i", data[4:]))
        assert ok(modules["matmul"], data) == matmul(3, entries[:9], entries[9:])
    assert run_module(modules[args[0]], data, GENEROUS).status == "ok"
