"""Which region backs up a global table, decided the same way by every region's deployment without talking.

A replica of a global table holds the same data as every other replica, so backing up each one multiplies the cost
for nothing. With `tablesafe:globalTables` = "home-region", only the table's home region backs it up: the region its
`tablesafe:home-region` tag names, or else the alphabetically first region holding a replica.
"""

from __future__ import annotations

from collections.abc import Iterable

HOME_REGION_TAG = "tablesafe:home-region"
HOME_REGION = "home-region"
EVERY_REGION = "every-region"


def backup_region(own_region: str, replica_regions: Iterable[str], home_tag: str | None) -> str:
    """The region that backs the table up; a home tag naming no replica region is ignored (see the docs)."""
    regions = {own_region, *replica_regions}
    if home_tag and home_tag in regions:
        return home_tag
    return min(regions)


def is_misdirected_home_tag(own_region: str, replica_regions: Iterable[str], home_tag: str | None) -> bool:
    """True when the home tag names a region holding no replica (it would leave the table unprotected)."""
    return bool(home_tag) and home_tag not in {own_region, *replica_regions}
