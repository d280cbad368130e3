"""`python -m agora.cli ...`: how `agora node` starts its worker and beat."""

import sys

from agora.cli import main

if __name__ == "__main__":  # not when imported (tests/test_compose.py imports every agora module)
    sys.exit(main())
