"""``python -m acp_tap`` is ``acp-tap``."""

from acp_tap.cli import main

raise SystemExit(main())
