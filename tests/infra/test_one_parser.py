"""One configuration parser: a value synth refuses, the functions' environment and the CLI refuse in the same words."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App
from infra_synth import cdk_json_context

from infra import build_app
from infra.config import load_config
from infra.functions import function_environment
from tablesafe import constants
from tablesafe.config.plans import ConfigError
from tablesafe.config.settings import Settings, SettingsError
from tablesafe_cli import context as cli_context
from tablesafe_cli import main as cli

# moto: a CLI that wrongly accepted the file would go on to its AWS calls; they get an answer instead of retries.
pytestmark = [pytest.mark.xdist_group("infra"), pytest.mark.usefixtures("moto_aws")]

REGION = {"tablesafe:regions": ["eu-west-1"]}
RULE = {"name": "daily", "schedule": "cron(0 3 * * ? *)", "retentionDays": 35, "minKeep": 3}
ATLANTIS_PLANS = {"daily": [{**RULE, "timezone": "Europe/Atlantis"}]}


def synth_error(context: dict[str, Any]) -> ConfigError:
    """What `cdk synth` stops with (app.py prints it after 'tablesafe: configuration error: ')."""
    app = App(context={**cdk_json_context(), **REGION, **context})
    with pytest.raises(ConfigError) as raised:
        build_app(app, {})
    return raised.value


def cli_error(tmp_path: Path, capsys: pytest.CaptureFixture[str], context: dict[str, Any]) -> str:
    """What `tablesafe status --config cdk.json` prints; it must stop before any AWS call, with exit code 2."""
    path = tmp_path / "cdk.json"
    path.write_text(json.dumps({"app": "python app.py", "context": {**cdk_json_context(), **REGION, **context}}))
    code = cli.main(["status", "--config", str(path), "--region", "eu-west-1"])
    captured = capsys.readouterr()
    assert code == 2 and captured.out == ""
    assert captured.err.count("\n") == 1
    prefix = f"tablesafe: error: {path}: "
    assert captured.err.startswith(prefix)
    return captured.err.removeprefix(prefix).rstrip("\n")


def env_error(variable: str, value: str) -> str:
    """What the functions fail with at cold start when `variable` holds `value` in the environment synth writes."""
    environ = {**function_environment(load_config(REGION, {}), constants.SERVICE_BACKUP), variable: value}
    with pytest.raises(SettingsError) as raised:
        Settings.from_env(environ)
    return str(raised.value)


@pytest.mark.parametrize(
    ("context", "variable", "text"),
    [
        ({"tablesafe:tagKey": "aws:plan"}, constants.ENV_TAG_KEY, "aws:plan"),
        ({"tablesafe:tagKey": "plan#1"}, constants.ENV_TAG_KEY, "plan#1"),
        ({"tablesafe:backupNamePrefix": "table.safe"}, constants.ENV_BACKUP_NAME_PREFIX, "table.safe"),
        ({"tablesafe:dryRun": "yes"}, constants.ENV_DRY_RUN, "yes"),
        ({"tablesafe:storagePricePerGbMonth": "NaN"}, constants.ENV_STORAGE_PRICE, "NaN"),
        ({"tablesafe:globalTables": "some-regions"}, constants.ENV_GLOBAL_TABLES, "some-regions"),
    ],
    ids=["reserved-tag-key", "tag-key-symbol", "prefix", "dry-run", "price", "global-tables"],
)
def test_a_bad_value_gets_the_same_words_from_synth_the_cli_and_the_environment(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], context: dict[str, Any], variable: str, text: str
) -> None:
    synth = synth_error(context)

    assert cli_error(tmp_path, capsys, context) == str(synth)
    # The functions know the value by its variable; what is allowed is said in the same words.
    assert env_error(variable, text) == f"{variable}={text!r}: {synth.allowed}"


def test_an_unknown_time_zone_is_refused_by_synth_the_cli_and_the_environment(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    synth = synth_error({"tablesafe:plans": ATLANTIS_PLANS})

    assert synth.key == "tablesafe:plans.daily[0].timezone"
    assert cli_error(tmp_path, capsys, {"tablesafe:plans": ATLANTIS_PLANS}) == str(synth)
    assert env_error(constants.ENV_PLANS, json.dumps(ATLANTIS_PLANS)) == str(synth).replace(
        "tablesafe:plans", constants.ENV_PLANS, 1
    )


@pytest.mark.parametrize(
    "context",
    [{"tablesafe:colour": "blue"}, {"tablesafe:retentiondays": 35}, {"tablesafe:dryrun": True}],
    ids=["unknown", "rule-key", "misspelt"],
)
def test_an_unknown_key_in_cdk_json_stops_the_cli_as_it_stops_synth(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], context: dict[str, Any]
) -> None:
    # The CLI used to ignore it and run on the default, as synth would have if it did not refuse.
    synth = synth_error(context)

    assert "unknown key" in str(synth)
    assert cli_error(tmp_path, capsys, context) == str(synth)


def test_the_cli_reads_the_shipped_cdk_json_as_synth_does(tmp_path: Path) -> None:
    synth = load_config({**cdk_json_context(), **REGION}, {})
    path = tmp_path / "cdk.json"
    path.write_text(json.dumps({"context": {**cdk_json_context(), **REGION}}))

    config = cli_context.load_config(path, explicit=True)

    assert (config.tag_key, config.prefix, config.global_tables) == (
        synth.tag_key,
        synth.backup_name_prefix,
        synth.global_tables,
    )
    assert (config.plans, config.price_per_gb_month, config.regions) == (
        synth.plans,
        synth.storage_price_per_gb_month,
        synth.regions,
    )
