"""Items and keys as the CLI reads and prints them: typed JSON both ways, keys compared as DynamoDB compares them."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import DYNAMODB_CONTEXT

from tablesafe.aws.tables import (
    Item,
    TableDetails,
)

TYPE_TAGS = frozenset({"S", "N", "B", "BOOL", "NULL", "M", "L", "SS", "NS", "BS"})
KEY_TYPES = frozenset({"S", "N", "B"})


class SelectionError(ValueError):
    """The items to copy are described wrongly (a key that does not fit the table, bad JSON); nothing was read."""


def key_of(item: Item, key_names: Sequence[str]) -> Item:
    """The primary key of an item."""
    return {name: item[name] for name in key_names}


KeyIdentity = tuple[tuple[str, object], ...]


def key_identity(item: Item, key_names: Sequence[str]) -> KeyIdentity:
    """An item's key as DynamoDB compares keys: S by text, N by numeric value (7 and 7.0 are one key), B by bytes."""
    return tuple(_key_part(item[name]) for name in key_names)


def _key_part(value: Mapping[str, Any]) -> tuple[str, object]:
    ((tag, inner),) = value.items()
    if tag == "N":
        return ("N", DYNAMODB_CONTEXT.create_decimal(inner))  # compares and hashes by value
    if tag == "B":
        return ("B", bytes(inner) if isinstance(inner, bytes | bytearray) else base64.b64decode(inner))
    return (tag, inner)


def unique_keys(keys: Sequence[Item], key_names: Sequence[str]) -> list[Item]:
    # BatchGetItem rejects a request that names the same key twice, however its numbers are written.
    seen: dict[KeyIdentity, Item] = {}
    for key in keys:
        seen.setdefault(key_identity(key, key_names), key)
    return list(seen.values())


def canonical(value: Any) -> Any:
    """A comparable form of a typed value: sets sorted, numbers as Decimal, maps as sorted pairs."""
    if not isinstance(value, Mapping) or len(value) != 1:
        return value
    ((tag, inner),) = value.items()
    if tag == "N":
        return ("N", Decimal(inner))
    if tag == "NS":
        return ("NS", tuple(sorted(Decimal(v) for v in inner)))
    if tag in ("SS", "BS"):
        return (tag, tuple(sorted(inner)))
    if tag == "M":
        return ("M", tuple(sorted((k, canonical(v)) for k, v in inner.items())))
    if tag == "L":
        return ("L", tuple(canonical(v) for v in inner))
    return (tag, inner)


def parse_key(raw: object, table: TableDetails) -> Item:
    """A key given as JSON (plain `{"pk": "a"}` or typed `{"pk": {"S": "a"}}`) as the table's typed key."""
    if not isinstance(raw, Mapping):
        raise SelectionError(f"key {as_json(raw)}: expected a JSON object of {', '.join(table.key_names)}")
    names = set(raw)
    wanted = set(table.key_names)
    if names != wanted:
        missing, extra = sorted(wanted - names), sorted(names - wanted)
        parts = [
            f"missing {', '.join(missing)}" if missing else "",
            f"not key attributes: {', '.join(extra)}" if extra else "",
        ]
        raise SelectionError(f"key {as_json(raw)} does not fit {table.name}: {'; '.join(p for p in parts if p)}")
    key: Item = {}
    for attribute in table.key:
        value = to_typed(raw[attribute.name])
        (tag,) = value
        if tag != attribute.type:
            raise SelectionError(
                f"key {as_json(raw)}: {attribute.name} is of type {attribute.type} in {table.name}, got {tag}"
            )
        key[attribute.name] = value
    return key


def as_json(value: object) -> str:
    """A value as the user typed it, in JSON (not Python's repr); what JSON cannot hold shown as text."""
    return json.dumps(value, default=str, ensure_ascii=False)


def to_typed(value: object) -> dict[str, Any]:
    """A JSON value as a DynamoDB typed value; `{"S": "x"}`-style objects are taken as typed already."""
    if isinstance(value, Mapping) and len(value) == 1 and next(iter(value)) in TYPE_TAGS:
        ((tag, inner),) = value.items()
        return _typed(tag, inner)
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, int | float | Decimal):
        return _typed("N", value)
    if value is None:
        return {"NULL": True}
    if isinstance(value, list):
        return {"L": [to_typed(v) for v in value]}
    if isinstance(value, Mapping):
        return {"M": {str(k): to_typed(v) for k, v in value.items()}}
    raise SelectionError(f"{as_json(value)} cannot be given to DynamoDB")


def _typed(tag: str, inner: Any) -> dict[str, Any]:
    # The client takes binary values as bytes; JSON carries them as base64 (as the AWS CLI does).
    try:
        if tag == "B":
            return {"B": inner if isinstance(inner, bytes) else base64.b64decode(inner, validate=True)}
        if tag == "BS":
            return {"BS": [v if isinstance(v, bytes) else base64.b64decode(v, validate=True) for v in inner]}
        if tag == "N":
            return {"N": _number(inner)}
        if tag == "M":
            return {"M": {k: to_typed(v) for k, v in inner.items()}}
        if tag == "L":
            return {"L": [to_typed(v) for v in inner]}
    except (ValueError, TypeError, AttributeError, ArithmeticError) as error:
        raise SelectionError(f"{as_json({tag: inner})} is not a valid {tag} value ({error})") from None
    return {tag: inner}


def _number(value: Any) -> str:
    """A DynamoDB number as text; ArithmeticError beyond what DynamoDB stores (38 digits, 1E-130 to 1E+126)."""
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        raise TypeError(f"expected a number or its text, got {type(value).__name__}")
    number = DYNAMODB_CONTEXT.create_decimal(str(value))
    if not number.is_finite():
        raise ArithmeticError("DynamoDB has no infinity or NaN")
    return str(value)


def to_typed_values(raw: object, what: str) -> dict[str, Any]:
    """ExpressionAttributeValues from JSON: each value plain or typed."""
    if not isinstance(raw, Mapping) or not all(isinstance(k, str) and k.startswith(":") for k in raw):
        raise SelectionError(f'{what}: expected a JSON object whose keys start with \':\' such as {{":s": "x"}}')
    return {k: to_typed(v) for k, v in raw.items()}


def plain(value: Mapping[str, Any]) -> Any:
    """A typed value as plain JSON (numbers as int or float, binary as base64) for display."""
    ((tag, inner),) = value.items()
    if tag == "N":
        number = Decimal(inner)
        return int(number) if number == number.to_integral_value() else float(number)
    if tag == "B":
        return base64.b64encode(inner).decode() if isinstance(inner, bytes) else inner
    if tag == "NULL":
        return None
    if tag == "M":
        return {k: plain(v) for k, v in inner.items()}
    if tag == "L":
        return [plain(v) for v in inner]
    if tag in ("SS", "NS", "BS"):
        return [plain({tag[0]: v}) for v in inner]
    return inner


def plain_item(item: Item) -> dict[str, Any]:
    """A typed item or key as plain JSON."""
    return {k: plain(v) for k, v in item.items()}
