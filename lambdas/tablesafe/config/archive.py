"""`tablesafe:archive`: where the exports of `"target": "export"` rules go and how the bucket keeps them.

    {"objectLockMode": "COMPLIANCE", "storageClass": "DEEP_ARCHIVE", "transitionAfterDays": 1,
     "pricePerGbMonth": 0.001}
    {"bucketArn": "arn:aws:s3:::acme-archive", "bucketOwner": "210987654321",
     "kmsKeyArn": "arn:aws:kms:eu-west-1:210987654321:key/...", "sourceAccounts": ["123456789012"]}

Without `bucketArn` the stack creates the bucket in its own account; with it, exports go to that bucket (another
account's, made by the `TablesafeArchive` stack, whose policy admits `sourceAccounts`). Pure: no boto3, no CDK.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass

from tablesafe.config.plans import ConfigError, Plan

ARCHIVE_KEY = "tablesafe:archive"
ARCHIVE_KEYS = (
    "bucketArn",
    "bucketOwner",
    "kmsKeyArn",
    "objectLockMode",
    "storageClass",
    "transitionAfterDays",
    "sourceAccounts",
    "pricePerGbMonth",
)
LOCK_MODES = ("GOVERNANCE", "COMPLIANCE")
# S3 lifecycle transition storage classes (AWS::S3::Bucket Transition.StorageClass).
STORAGE_CLASSES = ("STANDARD_IA", "ONEZONE_IA", "INTELLIGENT_TIERING", "GLACIER_IR", "GLACIER", "DEEP_ARCHIVE")
# GLACIER_IR by default: objects stay readable at once, so `find-items` and `restore --export` work without an S3
# restore request first (GLACIER and DEEP_ARCHIVE need one, hours long); DEEP_ARCHIVE is the cheapest.
DEFAULT_STORAGE_CLASS = "GLACIER_IR"
# USD per GB-month in us-east-1 (aws.amazon.com/s3/pricing, first tier; INTELLIGENT_TIERING at its frequent-access
# tier, the most it charges): the default `pricePerGbMonth`, the price of the class exports are kept in once
# transitioned (the days in S3 Standard before, and requests, are left out: docs/cost.md).
STORAGE_CLASS_PRICES = {
    "STANDARD_IA": 0.0125,
    "ONEZONE_IA": 0.01,
    "INTELLIGENT_TIERING": 0.023,
    "GLACIER_IR": 0.004,
    "GLACIER": 0.0036,
    "DEEP_ARCHIVE": 0.00099,
}
DEFAULT_ARCHIVE_PRICE = STORAGE_CLASS_PRICES[DEFAULT_STORAGE_CLASS]
DEFAULT_LOCK_MODE = "GOVERNANCE"
DEFAULT_TRANSITION_DAYS = 1
EXPORT_PREFIX = "tablesafe"  # every export tablesafe makes lies under this prefix of the bucket
_BUCKET_ARN = re.compile(r"^arn:aws(-cn|-us-gov)?:s3:::([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])\Z")
_KMS_KEY_ARN = re.compile(r"^arn:aws(-cn|-us-gov)?:kms:[a-z0-9-]+:\d{12}:key/[A-Za-z0-9-]+\Z")
_ACCOUNT = re.compile(r"^\d{12}\Z")


@dataclass(frozen=True)
class Archive:
    """The archive bucket: given (another account's) or made by the stack, and how it keeps exports."""

    bucket_arn: str | None = None
    bucket_owner: str | None = None
    kms_key_arn: str | None = None
    object_lock_mode: str = DEFAULT_LOCK_MODE
    storage_class: str = DEFAULT_STORAGE_CLASS
    transition_after_days: int = DEFAULT_TRANSITION_DAYS
    source_accounts: tuple[str, ...] = ()
    price_per_gb_month: float = DEFAULT_ARCHIVE_PRICE  # USD, for the cost estimate

    @property
    def bucket_name(self) -> str | None:
        """The given bucket's name, or None when the stack makes the bucket."""
        if self.bucket_arn is None:
            return None
        return self.bucket_arn.rsplit(":", 1)[1]


def parse_archive(key: str, value: object) -> Archive:
    """Validate the archive object (None: every default, the stack makes the bucket)."""
    if value is None:
        return Archive()
    if not isinstance(value, Mapping):
        raise ConfigError(key, value, f"expected an object with some of {', '.join(ARCHIVE_KEYS)}")
    unknown = sorted(set(value) - set(ARCHIVE_KEYS))
    if unknown:
        raise ConfigError(f"{key}.{unknown[0]}", value[unknown[0]], f"the archive has only {', '.join(ARCHIVE_KEYS)}")
    bucket_arn = _optional(key, value, "bucketArn", _BUCKET_ARN, "an S3 bucket ARN such as 'arn:aws:s3:::acme-archive'")
    owner = _optional(key, value, "bucketOwner", _ACCOUNT, "a 12-digit AWS account id")
    kms = _optional(
        key, value, "kmsKeyArn", _KMS_KEY_ARN, "a KMS key ARN such as 'arn:aws:kms:<region>:<account>:key/<id>'"
    )
    if bucket_arn is None:
        for given in ("bucketOwner", "kmsKeyArn"):
            if given in value:
                raise ConfigError(
                    f"{key}.{given}", value[given], "set only with bucketArn (the bucket the stack makes is its own)"
                )
    mode = value.get("objectLockMode", DEFAULT_LOCK_MODE)
    if mode not in LOCK_MODES:
        raise ConfigError(f"{key}.objectLockMode", mode, f"expected one of {', '.join(LOCK_MODES)}")
    storage = value.get("storageClass", DEFAULT_STORAGE_CLASS)
    if storage not in STORAGE_CLASSES:
        raise ConfigError(f"{key}.storageClass", storage, f"expected one of {', '.join(STORAGE_CLASSES)}")
    days = value.get("transitionAfterDays", DEFAULT_TRANSITION_DAYS)
    if isinstance(days, bool) or not isinstance(days, int) or not 0 <= days <= 36500:
        raise ConfigError(f"{key}.transitionAfterDays", days, "expected an integer of days from 0 to 36500")
    return Archive(
        bucket_arn=bucket_arn,
        bucket_owner=owner,
        kms_key_arn=kms,
        object_lock_mode=str(mode),
        storage_class=str(storage),
        transition_after_days=days,
        source_accounts=_accounts(f"{key}.sourceAccounts", value.get("sourceAccounts", [])),
        price_per_gb_month=_price(f"{key}.pricePerGbMonth", value.get("pricePerGbMonth"), str(storage)),
    )


def lock_days(plans: Mapping[str, Plan]) -> int | None:
    """The bucket's default Object Lock retention: the shortest retentionDays of any export rule (None: none).

    DynamoDB writes the export's objects, so each takes the bucket's default retention; a longer one would keep a
    shorter rule's exports locked past their retention, and the prune could not delete them.
    """
    days = [rule.retention_days for plan in plans.values() for rule in plan.rules if rule.exports]
    return min(days) if days else None


def _optional(key: str, body: Mapping[str, object], name: str, pattern: re.Pattern[str], allowed: str) -> str | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or not pattern.match(value):
        raise ConfigError(f"{key}.{name}", value, f"expected {allowed}")
    return value


def _price(key: str, value: object, storage_class: str) -> float:
    if value is None:
        return STORAGE_CLASS_PRICES[storage_class]
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value <= 0:
        raise ConfigError(key, value, "expected a number of USD per GB-month greater than 0, e.g. 0.004")
    return float(value)


def _accounts(key: str, value: object) -> tuple[str, ...]:
    allowed = 'expected a list of 12-digit AWS account ids, e.g. ["123456789012"]'
    if not isinstance(value, list):
        raise ConfigError(key, value, allowed)
    for account in value:
        if not isinstance(account, str) or not _ACCOUNT.match(account):
            raise ConfigError(key, value, f"{account!r} is not an account id; {allowed}")
    if len(set(value)) != len(value):
        raise ConfigError(key, value, "an account is listed twice")
    return tuple(value)
