"""The CLI's cdk.json: the synth parser's checks, and the one place where the CLI reads a value differently."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tablesafe_cli.config import ConfigFileError, load_config


def write(path: Path, context: dict[str, object]) -> Path:
    path.write_text(json.dumps({"context": context}))
    return path


def test_regions_left_out_of_cdk_json_are_not_configured_rather_than_an_error(tmp_path: Path) -> None:
    # Synth would deploy to the CDK CLI's default region, which the CLI cannot know: it takes any replica region.
    assert load_config(write(tmp_path / "cdk.json", {}), explicit=True).regions is None
    assert load_config(write(tmp_path / "cdk.json", {"tablesafe:regions": ["eu-west-1"]}), explicit=True).regions == (
        "eu-west-1",
    )


def test_an_alarm_email_or_prune_schedule_the_cli_does_not_use_is_still_checked(tmp_path: Path) -> None:
    path = write(tmp_path / "cdk.json", {"tablesafe:pruneSchedule": "cron(30 4 * * *)"})
    with pytest.raises(
        ConfigFileError, match=rf"^{re.escape(str(path))}: tablesafe:pruneSchedule: 'cron\(30 4 \* \* \*\)'"
    ):
        load_config(path, explicit=True)
