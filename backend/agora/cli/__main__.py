"""`python -m agora.cli ...`: how `agora node` starts its worker and beat."""

import sys

from agora.cli import main

sys.exit(main())
