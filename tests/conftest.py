"""Session-wide test setup.

Brownie launches anvil on the port in brownie-config.yaml and silently attaches to
whatever already listens there, so every test session takes a free port of its own
(or AGORA_ANVIL_PORT) before brownie connects, which it does after collection.
"""

import os
import socket

from brownie import _config


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


ANVIL_PORT = int(os.environ.get("AGORA_ANVIL_PORT") or _free_port())
_config.CONFIG.networks["anvil"]["cmd_settings"]["port"] = ANVIL_PORT
_config.CONFIG.networks["anvil"]["host"] = "http://127.0.0.1"
