"""agora.sandbox: every way a run can end, on small hand-written modules."""

from __future__ import annotations

import dataclasses
import struct
import threading
import time

import pytest

from agora.market.spec import Limits, ResultRecord
from agora.sandbox import Outcome, SandboxError, check_module, compile_wat, run_module

LIMITS = Limits(fuel=10**9, memory_bytes=2**20, output_bytes=1024, wall_seconds=30.0)

# alloc always hands out address 16; run's body is spliced in per module
JOB = """(module
  (memory (export "memory") {pages})
  (func (export "alloc") (param $len i32) (result i32) i32.const 16)
  (func $out (param $ptr i32) (param $len i32) (result i64)
    (i64.or (i64.shl (i64.extend_i32_u (local.get $ptr)) (i64.const 32)) (i64.extend_i32_u (local.get $len))))
  {extra}
  (func (export "run") (param $ptr i32) (param $len i32) (result i64)
    {body}))"""


def job(body: str, pages: int = 1, extra: str = "") -> bytes:
    return compile_wat(JOB.format(body=body, pages=pages, extra=extra))


ECHO = job("(call $out (local.get $ptr) (local.get $len))")
LOOP = job("(loop $forever (br $forever)) (i64.const 0)")
UNREACHABLE = job("unreachable")
IMPORTS_CLOCK = compile_wat("""(module
  (import "wasi_snapshot_preview1" "clock_time_get" (func (param i32 i64 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "alloc") (param i32) (result i32) i32.const 0)
  (func (export "run") (param i32 i32) (result i64) i64.const 0))""")
NO_RUN = compile_wat("""(module (memory (export "memory") 1)
  (func (export "alloc") (param i32) (result i32) i32.const 0))""")
NO_MEMORY = compile_wat("""(module (memory 1)
  (func (export "alloc") (param i32) (result i32) i32.const 0)
  (func (export "run") (param i32 i32) (result i64) i64.const 0))""")
ALLOC_I64 = compile_wat("""(module (memory (export "memory") 1)
  (func (export "alloc") (param i64) (result i32) i32.const 0)
  (func (export "run") (param i32 i32) (result i64) i64.const 0))""")
RUN_I32 = compile_wat("""(module (memory (export "memory") 1)
  (func (export "alloc") (param i32) (result i32) i32.const 0)
  (func (export "run") (param i32 i32) (result i32) i32.const 0))""")
RANDOM_BYTES = bytes.fromhex("5e1f0c9a27b3d4e8116a0f2290cc73a1") * 4
WAT_TEXT = b'(module (memory (export "memory") 1))'
TRUNCATED = b"\0asm\x01\0\0\0\x01"

INVALID = {
    "random bytes": (RANDOM_BYTES, "not a WebAssembly binary"),
    "WAT text": (WAT_TEXT, "not a WebAssembly binary"),
    "empty": (b"", "not a WebAssembly binary"),
    "imports the clock": (IMPORTS_CLOCK, "imports wasi_snapshot_preview1.clock_time_get: jobs may import nothing"),
    "no run": (NO_RUN, "exports no function run: a job exports memory, alloc and run"),
    "no memory": (NO_MEMORY, "exports no memory: a job exports memory, alloc and run"),
    "alloc takes an i64": (ALLOC_I64, "export alloc must be a function alloc(len: i32) -> i32"),
    "run returns an i32": (RUN_I32, "export run must be a function run(ptr: i32, len: i32) -> i64"),
}


def test_AModuleThatReturnsItsInputEndsOkWithItAsOutput():
    outcome = run_module(ECHO, b"hello, agora", LIMITS)
    assert (outcome.status, outcome.output) == ("ok", b"hello, agora")
    assert 0 < outcome.fuel_used < 100
    assert outcome.record == ResultRecord("ok", b"hello, agora")


def test_AnEmptyInputIsAnEmptyOutput():
    assert run_module(ECHO, b"", LIMITS).record == ResultRecord("ok", b"")


def test_ALoopForeverRunsOutOfFuelQuickly():
    started = time.monotonic()
    outcome = run_module(LOOP, b"", Limits(fuel=10**7, memory_bytes=2**20, output_bytes=1024, wall_seconds=60.0))
    assert time.monotonic() - started < 10
    assert (outcome.status, outcome.output, outcome.fuel_used) == ("out_of_fuel", b"", 10**7)
    assert outcome.detail == "ran out of fuel (10,000,000 units)"


def test_ALoopWithHugeFuelEndsAtTheWallLimit():
    outcome = run_module(LOOP, b"", Limits(fuel=10**12, memory_bytes=2**20, output_bytes=1024, wall_seconds=0.5))
    assert (outcome.status, outcome.output) == ("wall_time", b"")
    assert 0.5 <= outcome.wall_seconds < 5
    assert 0 < outcome.fuel_used < 10**12
    assert outcome.detail.startswith("stopped after ") and outcome.detail.endswith("(wall limit 0.5 s)")


def test_ConcurrentRunsKeepTheirOwnWallLimits():
    """One run's wall limit interrupts only that run, not another in flight on the shared engine."""
    results: dict[str, Outcome] = {}

    def run(name: str, limits: Limits) -> None:
        results[name] = run_module(LOOP, b"", limits)

    short = threading.Thread(target=run, args=("short", Limits(10**12, 2**20, 1024, 0.2)))
    long = threading.Thread(target=run, args=("long", Limits(10**12, 2**20, 1024, 1.0)))
    long.start()
    short.start()
    short.join()
    long.join()
    assert results["short"].status == results["long"].status == "wall_time"
    assert 0.2 <= results["short"].wall_seconds < results["long"].wall_seconds
    assert results["long"].wall_seconds >= 1.0


def test_ConcurrentRunsOfOneJobGiveTheSameRecordAndFuel():
    counter = job("""(local $i i32)
      (loop $count (local.set $i (i32.add (local.get $i) (i32.const 1)))
                   (br_if $count (i32.lt_u (local.get $i) (i32.const 3000000))))
      (i32.store (i32.const 0) (local.get $i)) (call $out (i32.const 0) (i32.const 4))""")
    outcomes: list[Outcome] = []
    threads = [threading.Thread(target=lambda: outcomes.append(run_module(counter, b"", LIMITS))) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert {(o.record.encode(), o.fuel_used) for o in outcomes} == {(ResultRecord("ok", struct.pack("<I", 3_000_000))
                                                                     .encode(), outcomes[0].fuel_used)}


def test_AModuleDeclaringMoreMemoryThanTheLimitEndsMemoryLimit():
    outcome = run_module(job("(i64.const 0)", pages=17), b"", LIMITS)  # 17 pages > 1 MiB
    assert (outcome.status, outcome.output, outcome.fuel_used) == ("memory_limit", b"", 0)
    assert outcome.detail == "the module declares 1,114,112 bytes of memory, limit 1,048,576"


def test_AModuleDeclaringExactlyTheLimitRuns():
    assert run_module(job("(i64.const 0)", pages=16), b"", LIMITS).record == ResultRecord("ok")


def test_AnInputLargerThanTheMemoryLimitEndsMemoryLimit():
    outcome = run_module(ECHO, bytes(2**20 + 1), LIMITS)
    assert outcome.status == "memory_limit"
    assert outcome.detail == "the input of 1,048,577 bytes is larger than the memory limit 1,048,576"


def test_GrowingMemoryPastTheLimitReturnsMinusOneToTheModule():
    """memory.grow within the limit gives the old size in pages, past it -1; the module goes on."""
    grows = job("""(i32.store (i32.const 0) (memory.grow (i32.const 15)))
      (i32.store (i32.const 4) (memory.grow (i32.const 1)))
      (i32.store (i32.const 8) (memory.size))
      (call $out (i32.const 0) (i32.const 12))""")
    assert run_module(grows, b"", LIMITS).record == ResultRecord("ok", struct.pack("<iii", 1, -1, 16))


def test_TouchingMemoryPastAFailedGrowTraps():
    touches = job("""(drop (memory.grow (i32.const 100)))
      (i32.store (i32.const 2000000) (i32.const 1)) (i64.const 0)""")
    outcome = run_module(touches, b"", LIMITS)
    assert (outcome.status, outcome.output) == ("trap", b"")
    assert "out of bounds memory access" in outcome.detail


def test_AnOutputLargerThanTheLimitEndsOutputTooLarge():
    outcome = run_module(job("(call $out (i32.const 0) (i32.const 1025))"), b"", LIMITS)
    assert (outcome.status, outcome.output) == ("output_too_large", b"")
    assert outcome.detail == "output of 1,025 bytes, limit 1,024"


def test_AnOutputOfExactlyTheLimitIsOk():
    assert run_module(job("(call $out (i32.const 0) (i32.const 1024))"), b"", LIMITS).record == \
        ResultRecord("ok", bytes(1024))


def test_AnOutputOutsideMemoryTraps():
    outcome = run_module(job("(call $out (i32.const 65530) (i32.const 7))"), b"", LIMITS)
    assert outcome.record == ResultRecord("trap")
    assert outcome.detail == "run returned output [65530, 65537), outside the memory of 65536 bytes"


def test_AnOutputPointerAtTheTopOfTheAddressSpaceTraps():
    """(ptr << 32) | len is read unsigned: ptr 0xffffffff is not a negative offset."""
    outcome = run_module(job("(i64.const -1)"), b"", LIMITS)
    assert outcome.record == ResultRecord("trap")
    assert outcome.detail == "run returned output [4294967295, 8589934590), outside the memory of 65536 bytes"


def test_AnAllocPointerOutsideMemoryTraps():
    bad_alloc = compile_wat("""(module (memory (export "memory") 1)
      (func (export "alloc") (param i32) (result i32) i32.const 65534)
      (func (export "run") (param i32 i32) (result i64) i64.const 0))""")
    outcome = run_module(bad_alloc, b"abc", LIMITS)
    assert outcome.record == ResultRecord("trap")
    assert outcome.detail == "alloc(3) returned 65534, outside the memory of 65536 bytes"


def test_UnreachableTrapsWithTheTrapMessageInDetail():
    outcome = run_module(UNREACHABLE, b"", LIMITS)
    assert (outcome.status, outcome.output) == ("trap", b"")
    assert "wasm `unreachable` instruction executed" in outcome.detail
    assert "\n" not in outcome.detail


def test_DivisionByZeroTraps():
    outcome = run_module(job("(drop (i32.div_u (i32.const 1) (local.get $len))) (i64.const 0)"), b"", LIMITS)
    assert outcome.status == "trap"
    assert "integer divide by zero" in outcome.detail


def test_EndlessRecursionTrapsWithStackOverflow():
    recursive = job("(call $down (i32.const 0)) (i64.const 0)",
                    extra="(func $down (param i32) (call $down (i32.add (local.get 0) (i32.const 1))))")
    outcome = run_module(recursive, b"", LIMITS)
    assert outcome.status == "trap"
    assert "call stack exhausted" in outcome.detail


def test_AStartFunctionRunsUnderTheFuelLimit():
    starts_looping = compile_wat("""(module (memory (export "memory") 1) (start $spin)
      (func $spin (loop $forever (br $forever)))
      (func (export "alloc") (param i32) (result i32) i32.const 0)
      (func (export "run") (param i32 i32) (result i64) i64.const 0))""")
    outcome = run_module(starts_looping, b"", Limits(10**6, 2**20, 1024, 30.0))
    assert (outcome.status, outcome.fuel_used) == ("out_of_fuel", 10**6)


def test_ADataSegmentOutsideMemoryTrapsAtInstantiation():
    outcome = run_module(job("(i64.const 0)", extra='(data (i32.const 65535) "ab")'), b"", LIMITS)
    assert outcome.status == "trap"
    assert "out of bounds memory access" in outcome.detail


def test_NaNsAreCanonical():
    """0/0 gives the canonical quiet NaN on every CPU (x86 alone would give the negative one)."""
    nan = job("""(i64.store (i32.const 0) (i64.reinterpret_f64 (f64.div (f64.convert_i32_u (local.get $len))
                                                                        (f64.convert_i32_u (local.get $len)))))
      (i32.store (i32.const 8) (i32.reinterpret_f32 (f32.sqrt (f32.const -1))))
      (call $out (i32.const 0) (i32.const 12))""")
    assert run_module(nan, b"", LIMITS).output == struct.pack("<QI", 0x7FF8_0000_0000_0000, 0x7FC0_0000)


@pytest.mark.parametrize("name", list(INVALID))
def test_AnInvalidModuleEndsInvalidModuleWithTheReason(name):
    module, reason = INVALID[name]
    outcome = run_module(module, b"input", LIMITS)
    assert (outcome.status, outcome.output, outcome.fuel_used, outcome.detail) == ("invalid_module", b"", 0, reason)


def test_ATruncatedBinaryIsNotAValidModule():
    outcome = run_module(TRUNCATED, b"", LIMITS)
    assert outcome.status == "invalid_module"
    assert outcome.detail.startswith("not a valid WebAssembly module: failed to parse WebAssembly module")


def test_ThreadsAreNotAvailableToJobs():
    shared = b"\0asm\x01\0\0\0" + bytes([5, 4, 1, 3, 1, 1])  # memory section: one shared memory, 1..1 pages
    outcome = run_module(shared, b"", LIMITS)
    assert outcome.status == "invalid_module"
    assert outcome.detail.startswith("not a valid WebAssembly module")


@pytest.mark.parametrize("name", list(INVALID) + ["truncated"])
def test_CheckModuleGivesTheReasonRunModuleEndsWith(name):
    module = TRUNCATED if name == "truncated" else INVALID[name][0]
    assert check_module(module) == run_module(module, b"", LIMITS).detail


@pytest.mark.parametrize("module", [ECHO, LOOP, UNREACHABLE, job("(i64.const 0)", pages=17)])
def test_CheckModuleAcceptsEveryModuleThatKeepsTheABI(module):
    """Traps, loops and memory over some limit are the run's business, not the module's shape."""
    assert check_module(module) is None
    assert run_module(module, b"", Limits(10**6, 2**20, 1024, 30.0)).status != "invalid_module"


@pytest.mark.parametrize("text,message", [
    ("(module", "bad WAT at line 1, column 8: expected `)`"),
    ('(module\n  (func (export "x") i32.addd))', "bad WAT at line 2, column 22: unknown operator or unexpected token"),
    ("(module (func (result i32)))", "bad WAT: type mismatch: expected i32 but nothing on stack (at offset 0x18)"),
])
def test_BadWatRaisesSandboxErrorWithAOneLineMessage(text, message):
    with pytest.raises(SandboxError) as raised:
        compile_wat(text)
    assert str(raised.value) == message


def test_CompileWatGivesAWasmBinary():
    assert compile_wat("(module)") == b"\0asm\x01\0\0\0"


@pytest.mark.parametrize("module,status", [(ECHO, "ok"), (UNREACHABLE, "trap"), (LOOP, "out_of_fuel"),
                                           (RANDOM_BYTES, "invalid_module")])
def test_TheRecordRoundTripsThroughResultRecordDecode(module, status):
    outcome = run_module(module, b"some input", Limits(10**6, 2**20, 1024, 30.0))
    assert outcome.status == status
    assert ResultRecord.decode(outcome.record.encode()) == outcome.record == ResultRecord(status, outcome.output)


def test_AnOutcomeIsFrozen():
    outcome = run_module(ECHO, b"x", LIMITS)
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(outcome, "status", "trap")  # noqa: B010 - an assignment mypy would refuse
