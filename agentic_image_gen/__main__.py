"""Entry point for ``python -m agentic_image_gen``."""

from agentic_image_gen.frontends.cli import main

raise SystemExit(main())
