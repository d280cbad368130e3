"""The sandbox: runs a job's WebAssembly module on its input under its limits, deterministically.

`run_module` is the one entry point for providers and the arbiter; `check_module` tells a
buyer, before uploading, why a module would be refused; `compile_wat` builds a module from
WebAssembly text. The module ABI and the reasons behind each setting are in `runner`.
"""

from agora.sandbox.runner import Outcome, SandboxError, check_module, compile_wat, run_module

__all__ = ["Outcome", "SandboxError", "check_module", "compile_wat", "run_module"]
