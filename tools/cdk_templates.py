"""The templates of a cloud assembly's stacks, as its manifest lists them (`make lint-templates` lints these).

cdk.out keeps the templates of earlier syntheses: after a region is removed from tablesafe:regions, its template
stays in the directory but not in the manifest, which is what `cdk deploy` reads. Linting `cdk.out/*.template.json`
would lint (and fail on) a stack that is no longer part of the app.

    .venv/bin/python -m tools.cdk_templates cdk.out     # one path a line
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def stack_templates(outdir: Path) -> list[Path]:
    """Each stack artifact's template file, in manifest order."""
    manifest = json.loads((outdir / "manifest.json").read_text())
    return [
        outdir / artifact["properties"]["templateFile"]
        for artifact in manifest["artifacts"].values()
        if artifact.get("type") == "aws:cloudformation:stack"
    ]


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    outdir = Path(args[0] if args else "cdk.out")
    if not (outdir / "manifest.json").exists():
        print(f"{outdir}/manifest.json not found: run make synth first", file=sys.stderr)
        return 2
    for template in stack_templates(outdir):
        print(template)
    return 0


if __name__ == "__main__":
    sys.exit(main())
