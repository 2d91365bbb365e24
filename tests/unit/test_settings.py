"""Settings fail fast at cold start and name the variable that is wrong."""

import json
import os
import subprocess
import sys

import pytest

from tablesafe.config.settings import Settings, SettingsError
from tablesafe.constants import DEFAULT_PLANS
from tablesafe.runtime.cold_start import backup_leases, cold_start

GOOD = {
    "TABLESAFE_TAG_KEY": "backup-plan",
    "TABLESAFE_PLANS": json.dumps(DEFAULT_PLANS),
    "TABLESAFE_BACKUP_NAME_PREFIX": "tablesafe",
}


def test_the_stack_environment_gives_settings():
    settings = Settings.from_env({**GOOD, "TABLESAFE_DRY_RUN": "true", "TABLESAFE_STORAGE_PRICE_PER_GB_MONTH": "0.12"})
    assert settings.tag_key == "backup-plan"
    assert settings.plans["daily"].rule("daily").retention_days == 35
    assert settings.dry_run is True
    assert settings.storage_price_per_gb_month == 0.12
    assert settings.rate_limits["CreateBackup"] == 50
    assert settings.archive_price_per_gb_month == 0.004  # GLACIER_IR's, when the stack does not set it
    archive = Settings.from_env({**GOOD, "TABLESAFE_ARCHIVE_PRICE_PER_GB_MONTH": "0.00099"})
    assert archive.archive_price_per_gb_month == 0.00099


@pytest.mark.parametrize("missing", sorted(GOOD))
def test_a_missing_variable_is_named(missing):
    env = {k: v for k, v in GOOD.items() if k != missing}
    with pytest.raises(SettingsError, match=missing):
        Settings.from_env(env)


@pytest.mark.parametrize(
    ("name", "value", "named"),
    [
        ("TABLESAFE_PLANS", "{not json", "TABLESAFE_PLANS"),
        (
            "TABLESAFE_PLANS",
            json.dumps({"daily": [{"name": "d", "schedule": "cron(0 3 * * ? *)", "retentionDays": 3}]}),
            "minKeep",
        ),
        ("TABLESAFE_BACKUP_NAME_PREFIX", "has.dot", "TABLESAFE_BACKUP_NAME_PREFIX"),
        ("TABLESAFE_DRY_RUN", "yes", "TABLESAFE_DRY_RUN"),
        ("TABLESAFE_STORAGE_PRICE_PER_GB_MONTH", "cheap", "TABLESAFE_STORAGE_PRICE_PER_GB_MONTH"),
        ("TABLESAFE_STORAGE_PRICE_PER_GB_MONTH", "-1", "TABLESAFE_STORAGE_PRICE_PER_GB_MONTH"),
        ("TABLESAFE_ARCHIVE_PRICE_PER_GB_MONTH", "0", "TABLESAFE_ARCHIVE_PRICE_PER_GB_MONTH"),
        ("TABLESAFE_GLOBAL_TABLES", "some-regions", "TABLESAFE_GLOBAL_TABLES"),
        ("TABLESAFE_RATE_LIMITS", '{"CreateBackup": -5}', "TABLESAFE_RATE_LIMITS"),
        ("TABLESAFE_TIME_RESERVE_SECONDS", "soon", "TABLESAFE_TIME_RESERVE_SECONDS"),
        ("TABLESAFE_REGIONS", "us-east-1;eu-west-1", "TABLESAFE_REGIONS='us-east-1;eu-west-1'"),
        ("TABLESAFE_REGIONS", "us-east-1,,eu-west-1", "TABLESAFE_REGIONS='us-east-1,,eu-west-1': '' is not"),
        ("TABLESAFE_REGIONS", "", "TABLESAFE_REGIONS='': '' is not a region name"),
        ("TABLESAFE_REGIONS", '["us-east-1"]', "TABLESAFE_REGIONS"),
    ],
)
def test_a_wrong_value_is_named(name, value, named):
    with pytest.raises(SettingsError, match=named):
        Settings.from_env({**GOOD, name: value})


def test_the_deployed_regions_are_read_comma_separated():
    settings = Settings.from_env({**GOOD, "TABLESAFE_REGIONS": "us-east-1, eu-west-1"})
    assert settings.deployed_regions == ("us-east-1", "eu-west-1")


def test_without_the_deployed_regions_they_are_not_known():
    # An older deployment or the CLI: every region holding a replica stays a candidate home, as before.
    assert Settings.from_env(GOOD).deployed_regions is None


def test_the_lease_table_is_read_when_set_and_absent_for_the_prune_function():
    assert Settings.from_env({**GOOD, "TABLESAFE_LEASE_TABLE": "Tablesafe-eu-west-1-Leases-1A2B"}).lease_table == (
        "Tablesafe-eu-west-1-Leases-1A2B"
    )
    assert Settings.from_env(GOOD).lease_table is None


@pytest.mark.parametrize("value", ["ab", "has space", "a" * 256, "tab/le"])
def test_a_lease_table_that_cannot_be_a_table_name_is_named(value):
    with pytest.raises(SettingsError, match="TABLESAFE_LEASE_TABLE"):
        Settings.from_env({**GOOD, "TABLESAFE_LEASE_TABLE": value})


def test_the_backup_function_without_its_lease_table_fails_at_cold_start(monkeypatch):
    for name, value in GOOD.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("TABLESAFE_LEASE_TABLE", raising=False)
    cold_start.cache_clear()
    backup_leases.cache_clear()
    try:
        with pytest.raises(SettingsError, match="TABLESAFE_LEASE_TABLE is missing"):
            backup_leases()
    finally:
        cold_start.cache_clear()
        backup_leases.cache_clear()


def plans_in(timezone):
    return json.dumps(
        {
            "daily": [
                {"name": "d", "schedule": "cron(0 3 * * ? *)", "retentionDays": 3, "minKeep": 1, "timezone": timezone}
            ]
        }
    )


@pytest.mark.parametrize(
    ("name", "value", "named"),
    [
        # The checks synth makes of the same values, which the functions used to skip.
        ("TABLESAFE_TAG_KEY", "aws:backup-plan", "TABLESAFE_TAG_KEY='aws:backup-plan': a tag key is 1-128"),
        ("TABLESAFE_TAG_KEY", "plan#", "TABLESAFE_TAG_KEY='plan#': a tag key"),
        ("TABLESAFE_STORAGE_PRICE_PER_GB_MONTH", "NaN", "TABLESAFE_STORAGE_PRICE_PER_GB_MONTH='NaN'"),
        ("TABLESAFE_STORAGE_PRICE_PER_GB_MONTH", "Infinity", "TABLESAFE_STORAGE_PRICE_PER_GB_MONTH='Infinity'"),
        ("TABLESAFE_REGIONS", "us-east-1,us-east-1", "'us-east-1' is listed twice"),
        ("TABLESAFE_PLANS", plans_in("Europe/Atlantis"), r"TABLESAFE_PLANS\.daily\[0\]\.timezone: 'Europe/Atlantis'"),
    ],
)
def test_the_environment_gets_the_checks_synth_makes(name, value, named):
    with pytest.raises(SettingsError, match=named):
        Settings.from_env({**GOOD, name: value})


def test_a_rule_in_a_known_time_zone_is_accepted():
    settings = Settings.from_env({**GOOD, "TABLESAFE_PLANS": plans_in("Europe/Paris")})
    assert settings.plans["daily"].rule("d").timezone == "Europe/Paris"


def run_python(code, **environ):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path), **environ}
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)


def test_a_cold_start_with_utc_rules_does_not_import_zoneinfo():
    # docs/performance.md: zoneinfo pulls in sysconfig; the functions pay for it only for a rule in another zone.
    code = f"""
import sys
from tablesafe.config.settings import Settings
Settings.from_env({GOOD!r})
print(sorted(m for m in ("zoneinfo", "sysconfig") if m in sys.modules))
"""
    result = run_python(code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_utc_needs_no_time_zone_database_and_other_zones_do():
    # A machine (or runtime) without tzdata: UTC is still UTC; any other name cannot be checked, so it is refused.
    code = f"""
import sys
sys.modules["tzdata"] = None  # nor the tzdata package, should it be installed
from tablesafe.config.settings import Settings, SettingsError
Settings.from_env({GOOD!r})
try:
    Settings.from_env({{**{GOOD!r}, "TABLESAFE_PLANS": {plans_in("Europe/Paris")!r}}})
except SettingsError as error:
    print(error)
"""
    result = run_python(code, PYTHONTZPATH=os.devnull)
    assert result.returncode == 0, result.stderr
    assert "TABLESAFE_PLANS.daily[0].timezone: 'Europe/Paris' is not allowed" in result.stdout
