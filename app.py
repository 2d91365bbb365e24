#!/usr/bin/env python3
"""CDK entry point: `cdk synth` runs this. The configuration is the `tablesafe:*` context (cdk.json or -c)."""

from __future__ import annotations

import sys

from infra import build_app
from tablesafe.config.plans import ConfigError


def main() -> None:
    """Synthesize every region's stack, or exit with the configuration error and no template at all."""
    try:
        app, _ = build_app()
    except ConfigError as error:
        sys.exit(f"tablesafe: configuration error: {error}")
    app.synth()


if __name__ == "__main__":
    main()
