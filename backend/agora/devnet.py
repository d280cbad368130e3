"""`agora devnet`: the whole local market in one command (the same as `./dev market`).

The devnet deploys the contracts with the project's brownie deploy script, a development
tool that agora itself never imports, so it runs from a checkout: this starts
`scripts/market.py` with this Python and waits for it (Ctrl-C reaches both).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from agora.errors import AgoraError

ROOT = Path(__file__).resolve().parents[2]


class DevnetError(AgoraError):
    """The devnet cannot start from here."""


def run_devnet() -> int:
    script = ROOT / "scripts" / "market.py"
    if not script.is_file():
        raise DevnetError(f"agora devnet runs from a checkout of Agora (it deploys with scripts/market.py, not found "
                          f"under {ROOT}): clone the repository and run ./dev market")
    env = dict(os.environ)
    tools = [ROOT / "node_modules" / ".bin", ROOT / ".solc", Path(sys.executable).parent]
    if shutil.which("anvil", path=os.pathsep.join(map(str, tools))) is None:
        raise DevnetError("anvil is not installed in this checkout: run ./dev market once (it installs the toolchain)")
    env["PATH"] = os.pathsep.join([*map(str, tools), env.get("PATH", "")])
    env.setdefault("SOLCX_BINARY_PATH", str(ROOT / ".solc"))
    try:
        return subprocess.call([sys.executable, str(script)], env=env, cwd=ROOT)
    except KeyboardInterrupt:
        return 130
