"""`python -m agentmortem …`: the command line (`agentmortem.cli`)."""

import sys

from agentmortem.cli import main

sys.exit(main())
