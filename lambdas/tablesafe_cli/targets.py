"""What `tablesafe status --accounts/--organization` reads: the accounts and regions given, checked."""

from __future__ import annotations

from tablesafe.aws.accounts import ACCOUNT_ID
from tablesafe.rules.home_region import REGION_PATTERN


def parse_accounts(text: str) -> tuple[str, ...]:
    """`--accounts`: comma-separated 12-digit account ids, each once; ValueError naming the culprit."""
    words = [word.strip() for word in text.split(",") if word.strip()]
    wrong = [word for word in words if not ACCOUNT_ID.match(word)]
    if wrong or not words:
        raise ValueError(f"expected comma-separated 12-digit account ids, got {', '.join(wrong) or repr(text)}")
    return tuple(dict.fromkeys(words))


def parse_regions(text: str) -> tuple[str, ...]:
    """`--regions`: comma-separated region names (eu-west-1), each once; ValueError naming the culprit."""
    words = [word.strip() for word in text.split(",") if word.strip()]
    wrong = [word for word in words if not REGION_PATTERN.match(word)]
    if wrong or not words:
        raise ValueError(f"expected comma-separated region names like eu-west-1, got {', '.join(wrong) or repr(text)}")
    return tuple(dict.fromkeys(words))
