"""Keys compared as DynamoDB compares them: S by text, N by numeric value, B by bytes."""

from __future__ import annotations

import base64

import pytest

from tablesafe.aws.tables import KeyAttribute, TableDetails
from tablesafe_cli.item_keys import SelectionError, key_identity, parse_key

NAMES = ("pk", "sk")
TABLE = TableDetails(
    name="orders",
    arn="arn:aws:dynamodb:us-east-1:123456789012:table/orders",
    status="ACTIVE",
    key=(KeyAttribute("pk", "HASH", "S"), KeyAttribute("sk", "RANGE", "N")),
    billing_mode="PAY_PER_REQUEST",
)


def number_key(sk: str) -> dict:
    return {"pk": {"S": "a"}, "sk": {"N": sk}}


@pytest.mark.parametrize("written", ["7.0", "07", "7e0", "0.7E1", "7.000", "70e-1"])
def test_a_number_key_is_one_key_however_it_is_written(written: str) -> None:
    assert key_identity(number_key(written), NAMES) == key_identity(number_key("7"), NAMES)


def test_minus_zero_is_zero() -> None:
    assert key_identity(number_key("-0"), NAMES) == key_identity(number_key("0.0"), NAMES)


@pytest.mark.parametrize("other", ["7.0000001", "-7", "70", "0.7"])
def test_different_numbers_are_different_keys(other: str) -> None:
    assert key_identity(number_key(other), NAMES) != key_identity(number_key("7"), NAMES)


def test_numbers_with_all_38_digits_are_compared_in_full() -> None:
    big = "1" + "0" * 36 + "1"  # 38 digits: DynamoDB's precision
    assert key_identity(number_key(big), NAMES) != key_identity(number_key("1" + "0" * 37), NAMES)


def test_a_string_is_compared_by_its_text_and_never_equals_a_number() -> None:
    assert key_identity({"pk": {"S": "7"}}, ("pk",)) != key_identity({"pk": {"N": "7"}}, ("pk",))
    assert key_identity({"pk": {"S": "7.0"}}, ("pk",)) != key_identity({"pk": {"S": "7"}}, ("pk",))
    assert key_identity({"pk": {"S": "a"}}, ("pk",)) != key_identity({"pk": {"S": "A"}}, ("pk",))


def test_binary_is_compared_by_its_bytes_whether_given_as_bytes_or_base64() -> None:
    as_text = {"id": {"B": base64.b64encode(b"\x01\x02").decode()}}
    assert key_identity({"id": {"B": b"\x01\x02"}}, ("id",)) == key_identity(as_text, ("id",))
    assert key_identity({"id": {"B": b"\x01"}}, ("id",)) != key_identity({"id": {"B": b"\x01\x00"}}, ("id",))


def test_only_the_key_attributes_count() -> None:
    item = {**number_key("7"), "status": {"S": "open"}}
    assert key_identity(item, NAMES) == key_identity(number_key("7.0"), NAMES)


@pytest.mark.parametrize(
    ("sk", "why"),
    [
        ("1" * 39, "not a valid N value"),  # more than DynamoDB's 38 digits
        ({"N": "NaN"}, "not a valid N value"),
        ({"N": "Infinity"}, "not a valid N value"),
        (1e400, "not a valid N value"),  # JSON's 1e400 reads as infinity
        ({"N": "1e200"}, "not a valid N value"),  # beyond DynamoDB's 1E+126
    ],
)
def test_a_number_dynamodb_cannot_store_is_a_selection_error(sk: object, why: str) -> None:
    raw = {"pk": "a", "sk": int(sk) if isinstance(sk, str) else sk}
    with pytest.raises(SelectionError, match=why):
        parse_key(raw, TABLE)
