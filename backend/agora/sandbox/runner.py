"""Run a job's WebAssembly module on its input under its limits, the same way on every machine.

A provider runs the job and submits `sha256(ResultRecord(status, output).encode())`; if the
buyer disputes, the arbiter runs it again and compares. So a run must be a pure function
of (module, input, limits): the same bytes out, or the same way of failing, everywhere.
Every choice below serves that.

The module ABI
--------------
- The module is a WebAssembly binary (it starts with b"\\0asm"). WAT text is not accepted
  (wasmtime would silently compile it, but a job's content id names the bytes that run).
- It imports nothing: no WASI, no host functions. With no clock, no randomness, no files
  and no network the module cannot observe the machine it runs on, so its only inputs
  are its input bytes. A module with any import is `invalid_module`.
- It exports `memory` (its one 32-bit linear memory), `alloc(len: i32) -> i32` and
  `run(ptr: i32, len: i32) -> i64`. The host calls `alloc(len(input))`, writes the input
  at the pointer it returns, calls `run(ptr, len)` and reads the output from the
  returned `(output_ptr << 32) | output_len` (both unsigned 32-bit).
- A start function, if any, runs at instantiation under the same fuel and wall limits.

How a run ends (`Outcome.status`, one of `agora.market.spec.STATUSES`)
-------------------------------------------------------------------------
- ok: `run` returned and its output lies in memory and fits `limits.output_bytes`.
- invalid_module: not a wasm binary, not valid wasm (under the features below), an
  import, or a missing or wrongly typed export. Checked before anything runs
  (`check_module` gives the same reason without running).
- memory_limit: the memory the module declares (or a table it declares) is above the
  limits, so it cannot be instantiated; or the input alone is larger than
  `limits.memory_bytes`. A `memory.grow` past the limit inside the run is not a status of
  its own: by wasm semantics it returns -1 to the module, which may cope, or trap (-> trap).
- out_of_fuel: the module used `limits.fuel` units of fuel. Fuel counts wasm operators
  and is the deterministic bound on the work: it runs out at the same instruction on
  every machine. (wasmtime checks it at function entries and loop headers, so a run may
  finish a few operators past its fuel; where it stops is still the same everywhere.
  `fuel_used` is then reported as `limits.fuel`.)
- wall_time: the run took longer than `limits.wall_seconds`. This is only a backstop for
  the host (a slow or overloaded machine); it is not deterministic, so jobs should be
  sized by fuel, with a wall limit well above what their fuel can take. It covers
  instantiation and the calls, not the compile before them.
- trap: any other trap (unreachable, out-of-bounds access, division by zero, stack
  overflow, ...), or an `alloc` pointer / output range outside memory.
- output_too_large: the output is longer than `limits.output_bytes`.
`Outcome.detail` says what happened in words (the trap message, the offending import);
it is for people, not part of the record.

Determinism settings
--------------------
- `cranelift_nan_canonicalization`: float operations producing NaN give the canonical
  NaN, not whatever bit pattern the CPU produces (the one float nondeterminism wasm allows).
- Threads, shared memory and relaxed SIMD are off (relaxed SIMD's results are allowed to
  differ between CPUs; threads race); relaxed SIMD is also set to its deterministic mode
  in case it is ever turned on. Memory64, multi-memory, custom page sizes, GC, exceptions,
  stack switching, wide arithmetic, tail calls and the component model are off too, and
  every proposal is set explicitly, so the set of modules that validate does not change
  with wasmtime's defaults.
- The wasm stack is fixed at `MAX_WASM_STACK` bytes. Stack overflow is a trap, but the depth
  at which it happens depends on the compiled frame sizes (wasmtime version and CPU
  architecture): jobs must not recurse anywhere near that limit.
- Fuel cost per operator is fixed by wasmtime, so all runners of one market must use the
  same wasmtime release line.

Engine, stores and threads
--------------------------
One Engine per process (compiling is the slow part and an Engine is thread-safe), a fresh
Store per run (so nothing of one run leaks into the next: fuel, memory, globals), and a
small cache of compiled modules. Runs may happen concurrently in threads (ctypes releases
the GIL while wasm runs). Wall time uses epoch interruption: since the epoch belongs to the
shared engine, a single ticker thread advances it every `EPOCH_TICK` seconds while any run
is in progress, and each store's deadline is `ceil(wall_seconds / EPOCH_TICK) + 1` ticks
after its own start (so a run gets at least its wall time, at most one tick more).
Incrementing the epoch once per run instead would interrupt every other run in flight.
"""

from __future__ import annotations

import math
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache

import wasmtime

from agora.errors import AgoraError
from agora.market.spec import Limits, ResultRecord

WASM_MAGIC = b"\0asm"
PAGE_BYTES = 65536
MAX_WASM_STACK = 512 * 1024
EPOCH_TICK = 0.01
# Host protection for tables (8 bytes an element in wasmtime); deterministic like any limit.
MAX_TABLE_ELEMENTS = 1_000_000
MAX_TABLES = 16

_MASK32 = 0xFFFF_FFFF
_MASK64 = 0xFFFF_FFFF_FFFF_FFFF


class SandboxError(AgoraError):
    """WAT text that does not compile, or a module the sandbox is asked to build and cannot."""


@dataclass(frozen=True)
class Outcome:
    """How one run ended. `record` is what is hashed and submitted; the rest is for people."""

    status: str
    output: bytes
    fuel_used: int
    detail: str
    wall_seconds: float

    @property
    def record(self) -> ResultRecord:
        return ResultRecord(self.status, self.output)


def _config() -> wasmtime.Config:
    config = wasmtime.Config()
    config.consume_fuel = True
    config.epoch_interruption = True
    config.cranelift_nan_canonicalization = True
    config.max_wasm_stack = MAX_WASM_STACK
    features = {
        # deterministic and widely used by toolchains
        "wasm_simd": True, "wasm_bulk_memory": True, "wasm_multi_value": True, "wasm_reference_types": True,
        # nondeterministic, or not part of the ABI (one 32-bit memory of 64 KiB pages)
        "wasm_threads": False, "shared_memory": False, "wasm_relaxed_simd": False,
        "wasm_relaxed_simd_deterministic": True, "wasm_memory64": False, "wasm_multi_memory": False,
        "wasm_custom_page_sizes": False, "wasm_gc": False, "wasm_function_references": False,
        "wasm_exceptions": False, "wasm_stack_switching": False, "wasm_wide_arithmetic": False,
        "wasm_tail_call": False, "wasm_component_model": False,
    }
    for name, value in features.items():
        setattr(config, name, value)
    return config


class _Runtime:
    """The process's engine and the ticker thread that advances its epoch while runs are active."""

    def __init__(self) -> None:
        self.engine = wasmtime.Engine(_config())
        self._active = 0
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None

    @contextmanager
    def ticking(self) -> Iterator[None]:
        with self._wake:
            self._active += 1
            if self._thread is None:
                self._thread = threading.Thread(target=self._tick, name="agora-sandbox-epoch", daemon=True)
                self._thread.start()
            self._wake.notify()
        try:
            yield
        finally:
            with self._wake:
                self._active -= 1

    def _tick(self) -> None:
        while True:
            with self._wake:
                self._wake.wait_for(lambda: self._active > 0)
            time.sleep(EPOCH_TICK)
            self.engine.increment_epoch()


_runtime_lock = threading.Lock()
_runtime_instance: _Runtime | None = None


def _runtime() -> _Runtime:
    global _runtime_instance
    with _runtime_lock:
        if _runtime_instance is None:
            _runtime_instance = _Runtime()
        return _runtime_instance


def _first_line(error: Exception) -> str:
    """wasmtime's messages span lines ("... Caused by: ..."); the causes joined on one line."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    if "Caused by:" in lines:
        causes = lines[lines.index("Caused by:") + 1:]
        lines = lines[:1] + [re.sub(r"^\d+: ", "", cause) for cause in causes]
        if lines[0].startswith("error while executing at wasm backtrace"):
            lines = lines[1:]
    return ": ".join(lines) or type(error).__name__


def compile_wat(text: str) -> bytes:
    """WebAssembly text -> a validated binary module; SandboxError with a one-line message if it is not."""
    try:
        module = wasmtime.wat2wasm(text)
    except wasmtime.WasmtimeError as exc:
        message = str(exc).strip().splitlines()
        where = next((m.group(1) for line in message if (m := re.search(r"--> [^:]*:(\d+:\d+)", line))), None)
        reason = message[0] if message else "unreadable"
        raise SandboxError(f"bad WAT{' at line ' + where.replace(':', ', column ') if where else ''}: {reason}") \
            from None
    try:
        wasmtime.Module.validate(_runtime().engine, module)
    except wasmtime.WasmtimeError as exc:
        raise SandboxError(f"bad WAT: {_first_line(exc)}") from None
    return bytes(module)


@lru_cache(maxsize=32)
def _compile(module: bytes) -> wasmtime.Module:
    return wasmtime.Module(_runtime().engine, module)


def _load(module: bytes) -> tuple[wasmtime.Module | None, str | None]:
    """The compiled module, or the reason it is an invalid_module."""
    if not isinstance(module, (bytes, bytearray)) or not bytes(module[:4]) == WASM_MAGIC:
        return None, "not a WebAssembly binary"
    try:
        compiled = _compile(bytes(module))
    except wasmtime.WasmtimeError as exc:
        return None, f"not a valid WebAssembly module: {_first_line(exc)}"
    for imported in compiled.imports:
        return None, f"imports {imported.module}.{imported.name}: jobs may import nothing"
    exports = {export.name: export.type for export in compiled.exports}
    memory = exports.get("memory")
    if memory is None:
        return None, "exports no memory: a job exports memory, alloc and run"
    if not isinstance(memory, wasmtime.MemoryType) or memory.is_64 or memory.is_shared:
        return None, "export memory must be a 32-bit, unshared linear memory"
    i32, i64 = wasmtime.ValType.i32(), wasmtime.ValType.i64()
    for name, params, results, shape in (("alloc", [i32], [i32], "(len: i32) -> i32"),
                                         ("run", [i32, i32], [i64], "(ptr: i32, len: i32) -> i64")):
        func = exports.get(name)
        if func is None:
            return None, f"exports no function {name}: a job exports memory, alloc and run"
        if not isinstance(func, wasmtime.FuncType) or func.params != params or func.results != results:
            return None, f"export {name} must be a function {name}{shape}"
    return compiled, None


def check_module(module: bytes) -> str | None:
    """Why `module` would end as invalid_module (not wasm, not valid, imports, exports), or None; runs nothing."""
    return _load(module)[1]


def _declared_memory(compiled: wasmtime.Module) -> int:
    for export in compiled.exports:
        if export.name == "memory" and isinstance(export.type, wasmtime.MemoryType):
            return export.type.limits.min * export.type.page_size
    return 0


class _End(Exception):
    """A run ended early with a status (internal)."""

    def __init__(self, status: str, detail: str) -> None:
        super().__init__(detail)
        self.status, self.detail = status, detail


def _ended(exc: Exception, limits: Limits, started: float) -> _End:
    if isinstance(exc, wasmtime.Trap):
        if exc.trap_code == wasmtime.TrapCode.OUT_OF_FUEL:
            return _End("out_of_fuel", f"ran out of fuel ({limits.fuel:,} units)")
        if exc.trap_code == wasmtime.TrapCode.INTERRUPT:
            return _End("wall_time", f"stopped after {time.monotonic() - started:.2f} s "
                                     f"(wall limit {limits.wall_seconds:g} s)")
    return _End("trap", _first_line(exc))


def _execute(compiled: wasmtime.Module, input: bytes, limits: Limits, store: wasmtime.Store,
             started: float) -> bytes:
    try:
        instance = wasmtime.Instance(store, compiled, [])
    except wasmtime.Trap as exc:  # a start function or a data segment out of bounds
        raise _ended(exc, limits, started) from None
    except wasmtime.WasmtimeError as exc:  # a store limit: a table (or memory) too large
        raise _End("memory_limit", _first_line(exc)) from None
    exports = instance.exports(store)
    memory, alloc, run = exports["memory"], exports["alloc"], exports["run"]
    assert isinstance(memory, wasmtime.Memory) and isinstance(alloc, wasmtime.Func) and isinstance(run, wasmtime.Func)
    try:
        pointer = alloc(store, len(input)) & _MASK32
        size = memory.data_len(store)
        if pointer + len(input) > size:
            raise _End("trap", f"alloc({len(input)}) returned {pointer}, outside the memory of {size} bytes")
        if input:
            memory.write(store, input, pointer)
        returned = run(store, pointer, len(input)) & _MASK64
    except (wasmtime.Trap, wasmtime.WasmtimeError) as exc:
        raise _ended(exc, limits, started) from None
    out_pointer, out_len = returned >> 32, returned & _MASK32
    size = memory.data_len(store)
    if out_pointer + out_len > size:
        raise _End("trap", f"run returned output [{out_pointer}, {out_pointer + out_len}), "
                           f"outside the memory of {size} bytes")
    if out_len > limits.output_bytes:
        raise _End("output_too_large", f"output of {out_len:,} bytes, limit {limits.output_bytes:,}")
    return bytes(memory.read(store, out_pointer, out_pointer + out_len))


def run_module(module: bytes, input: bytes, limits: Limits) -> Outcome:
    """Run a job. Never raises for anything the module does: every ending is an Outcome.

    SpecError only if `limits` themselves are invalid (a caller's mistake, not the module's).
    """
    limits.check()
    started = time.monotonic()

    def outcome(status: str, detail: str, output: bytes = b"", fuel_used: int = 0) -> Outcome:
        return Outcome(status, output, fuel_used, detail, time.monotonic() - started)

    compiled, reason = _load(module)
    if compiled is None:
        return outcome("invalid_module", reason or "invalid module")
    declared = _declared_memory(compiled)
    if declared > limits.memory_bytes:
        return outcome("memory_limit", f"the module declares {declared:,} bytes of memory, "
                                       f"limit {limits.memory_bytes:,}")
    if len(input) > limits.memory_bytes:
        return outcome("memory_limit", f"the input of {len(input):,} bytes is larger than the memory limit "
                                       f"{limits.memory_bytes:,}")
    runtime = _runtime()
    store = wasmtime.Store(runtime.engine)
    store.set_limits(memory_size=limits.memory_bytes, table_elements=MAX_TABLE_ELEMENTS, instances=1,
                     tables=MAX_TABLES, memories=1)
    store.set_fuel(limits.fuel)
    with runtime.ticking():
        store.set_epoch_deadline(math.ceil(limits.wall_seconds / EPOCH_TICK) + 1)
        try:
            output = _execute(compiled, bytes(input), limits, store, started)
        except _End as end:
            return outcome(end.status, end.detail, fuel_used=limits.fuel - store.get_fuel())
    return outcome("ok", f"{len(output):,} bytes of output", output, limits.fuel - store.get_fuel())
