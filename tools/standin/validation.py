"""Requests AWS refuses with a 4xx that moto accepts or crashes on: the stand-in refuses them as AWS does.

- Regions: a request signed for a region no AWS partition has. DynamoDB (and the other JSON services) answer HTTP
  400 InvalidSignatureException "Credential should be scoped to a valid region, not '<region>'. " (the SigV4
  credential scope names the region: IAM User Guide, "Elements of an AWS API request signature" / "Troubleshoot
  Signature Version 4 errors"; the message as DynamoDB sends it, e.g. aws/aws-sdk-js#4002). moto crashes (KeyError),
  which the stand-in answered with InternalFailure. The regions are those of botocore's endpoint data.
- Table names: the DynamoDB Developer Guide, "Supported data types and naming rules": 3-255 characters of
  a-z A-Z 0-9 _ - . for CreateTable's TableName and the restores' TargetTableName (API_CreateTable,
  API_RestoreTableFromBackup, API_RestoreTableToPointInTime: Pattern [a-zA-Z0-9_.-]+, Length 3-255), refused with
  ValidationException "1 validation error detected: ...". moto creates a table of any name.
- Expressions: a `#name` or `:value` an expression uses but ExpressionAttributeNames/Values do not define
  (Developer Guide, "Expression attribute names" / "Expression attribute values") is a ValidationException
  "Invalid <Kind>Expression: An expression attribute name used in the document path is not defined; attribute name:
  #a". moto crashes on an undefined name (KeyError).
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from tools.standin.protocol import AwsError, validation_error

_TABLE_NAME = re.compile(r"^[a-zA-Z0-9_.-]{3,255}$")
# Deliberately looser than AWS on one point: CreateTable takes names of 1 or 2 characters, which the project's
# tests use for brevity (tables a, b, t0); the characters and the upper bound are AWS's. The restores' targets (what
# `tablesafe restore --to` sends) get the whole rule.
_SHORT_TABLE_NAME = re.compile(r"^[a-zA-Z0-9_.-]{1,255}$")
# operation -> (parameter, the member name AWS's message uses, the pattern checked)
_NEW_TABLE_NAMES = {
    "CreateTable": ("TableName", "tableName", _SHORT_TABLE_NAME),
    "RestoreTableFromBackup": ("TargetTableName", "targetTableName", _TABLE_NAME),
    "RestoreTableToPointInTime": ("TargetTableName", "targetTableName", _TABLE_NAME),
}
_EXPRESSIONS = (
    "KeyConditionExpression",
    "FilterExpression",
    "ProjectionExpression",
    "ConditionExpression",
    "UpdateExpression",
)
_NAME_REF = re.compile(r"#[A-Za-z0-9_]+")
_VALUE_REF = re.compile(r":[A-Za-z0-9_]+")


@cache
def known_regions() -> frozenset[str]:
    """Every region of every partition in botocore's endpoint data."""
    import botocore.loaders

    endpoints = botocore.loaders.create_loader().load_data("endpoints")
    return frozenset(region for partition in endpoints["partitions"] for region in partition["regions"])


def check_region(region: str | None) -> None:
    """InvalidSignatureException for a credential scope naming a region no partition has."""
    if region is not None and region not in known_regions():
        raise AwsError(
            "InvalidSignatureException",
            f"Credential should be scoped to a valid region, not '{region}'. ",
            400,
            type_prefix="com.amazon.coral.service#",
        )


def check_dynamodb_request(operation: str, body: dict[str, Any]) -> None:
    """ValidationException for an invalid new table name or an undefined expression attribute name or value."""
    if operation in _NEW_TABLE_NAMES:
        parameter, member, pattern = _NEW_TABLE_NAMES[operation]
        name = body.get(parameter)
        if isinstance(name, str) and not pattern.match(name):
            raise validation_error(
                f"1 validation error detected: Value '{name}' at '{member}' failed to satisfy constraint: "
                "Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+ and have length between 3 and 255"
            )
    names = body.get("ExpressionAttributeNames") or {}
    values = body.get("ExpressionAttributeValues") or {}
    for key in _EXPRESSIONS:
        expression = body.get(key)
        if not isinstance(expression, str):
            continue
        kind = key.removesuffix("Expression")
        for ref in _NAME_REF.findall(expression):
            if ref not in names:
                raise validation_error(
                    f"Invalid {kind}Expression: An expression attribute name used in the document path is not "
                    f"defined; attribute name: {ref}"
                )
        for ref in _VALUE_REF.findall(_without_names(expression)):
            if ref not in values:
                raise validation_error(
                    f"Invalid {kind}Expression: An expression attribute value used in expression is not defined; "
                    f"attribute value: {ref}"
                )


def _without_names(expression: str) -> str:
    return _NAME_REF.sub("", expression)
