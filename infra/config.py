"""The CDK context -> the validated configuration: tablesafe.config.context parses it, for synth as for the CLI.

What is CDK's alone stays in infra: the default region comes from the CDK CLI (`CDK_DEFAULT_REGION`), and warnings
about a valid configuration (a rule too sparse for its alarm) are Annotations, added where the constructs are built.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from tablesafe.config.context import KNOWN_KEYS, PLANS, TablesafeConfig, parse_context

__all__ = ["KNOWN_KEYS", "PLANS", "TablesafeConfig", "load_config"]


def load_config(context: Mapping[str, Any], environ: Mapping[str, str] = os.environ) -> TablesafeConfig:
    """Validate the CDK context; ConfigError names the first wrong key.

    Example: ``load_config(app.node.get_all_context())``.
    """
    return parse_context(context, default_region=environ.get("CDK_DEFAULT_REGION"))
