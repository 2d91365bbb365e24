"""`tablesafe:organization`: what it accepts, and each refusal naming the field and what is allowed."""

from __future__ import annotations

import json

import pytest

from tablesafe.config.context import parse_context
from tablesafe.config.organization import parse_organization
from tablesafe.config.plans import ConfigError

KEY = "tablesafe:organization"
VALID = {"organizationalUnits": ["ou-ab12-11111111"], "regions": ["eu-west-1"], "hubAccount": "111122223333"}


def test_a_minimal_organization_gets_the_default_asset_prefix_and_no_sinks() -> None:
    organization = parse_organization(KEY, VALID)
    assert organization is not None
    assert organization.organizational_units == ("ou-ab12-11111111",)
    assert organization.asset_bucket_prefix == "tablesafe-assets-111122223333"
    assert dict(organization.observability_sinks) == {}
    assert organization.delegated_admin is False


def test_no_key_is_one_account_and_the_context_carries_it() -> None:
    assert parse_context({}, regions_required=False).organization is None
    assert parse_context({KEY: json.dumps(VALID)}, regions_required=False).organization == parse_organization(
        KEY, VALID
    )


@pytest.mark.parametrize(
    ("change", "field", "allowed"),
    [
        ({"hubAccount": "12345"}, "hubAccount", "12-digit"),
        ({"hubAccount": 111122223333}, "hubAccount", "as a string"),
        ({"organizationalUnits": ["r-ab12"]}, "organizationalUnits", "'r-ab12' is not an organizational unit id"),
        ({"organizationalUnits": []}, "organizationalUnits", "non-empty list"),
        ({"regions": ["eu-west-1", "eu-west-1"]}, "regions", "listed twice"),
        ({"regions": ["Europe"]}, "regions", "not a region name"),
        ({"assetBucketPrefix": "Bad_Prefix"}, "assetBucketPrefix", "lowercase"),
        (
            {"observabilitySinks": {"us-east-1": "arn:aws:oam:us-east-1:111122223333:sink/x"}},
            "observabilitySinks.us-east-1",
            "not deployed to",
        ),
        (
            {"observabilitySinks": {"eu-west-1": "arn:aws:oam:eu-west-1:999999999999:sink/x"}},
            "observabilitySinks.eu-west-1",
            "of account 111122223333",
        ),
        ({"delegatedAdmin": "yes"}, "delegatedAdmin", "true or false"),
        ({"hub": "111122223333"}, "hub", "unknown field"),
    ],
)
def test_a_wrong_field_is_named_with_what_is_allowed(change: dict[str, object], field: str, allowed: str) -> None:
    with pytest.raises(ConfigError) as error:
        parse_organization(KEY, {**VALID, **change})
    assert error.value.key == f"{KEY}.{field}"
    assert allowed in error.value.allowed


def test_a_value_that_is_not_an_object_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"^tablesafe:organization: "):
        parse_organization(KEY, ["ou-ab12-11111111"])
