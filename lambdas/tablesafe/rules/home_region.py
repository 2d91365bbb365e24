"""Which region backs up a global table, decided the same way by every region's deployment without talking.

A replica of a global table holds the same data as every other replica, so backing up each one multiplies the cost
for nothing. With `tablesafe:globalTables` = "home-region", only the table's home region backs it up: the region its
`tablesafe:home-region` tag names, or else the alphabetically first region holding a replica. Only regions where
tablesafe is deployed count: a home in a region without the functions would be a backup that never happens.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable

HOME_REGION_TAG = "tablesafe:home-region"
HOME_REGION = "home-region"
EVERY_REGION = "every-region"
# Commercial, China, GovCloud and ISO partitions: us-east-1, cn-north-1, us-gov-west-1, us-isob-east-1.
REGION_PATTERN = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d{1,2}$")


def backup_region(
    own_region: str,
    replica_regions: Iterable[str],
    home_tag: str | None,
    deployed_regions: Collection[str] | None = None,
) -> str:
    """The region that backs the table up: the home tag if it names a candidate, else the first candidate.

    Candidates are the regions holding a replica (the own region included) where tablesafe is deployed; with
    `deployed_regions` None (not known) every replica region is a candidate. The own region always is one, so a
    table always has a home.
    """
    candidates = {own_region, *replica_regions}
    if deployed_regions is not None:
        candidates &= {own_region, *deployed_regions}
    if home_tag and home_tag in candidates:
        return home_tag
    return min(candidates)


def decided_without_replicas(own_region: str, home_tag: str | None, deployed_regions: Collection[str] | None) -> bool:
    """True when backup_region is the own region whatever the replicas are, so they need not be asked for.

    That is when the home tag names the own region, or when no other deployed region could win: the tag names none
    of them and the own region sorts before all of them (always so in a deployment to one region).
    """
    if home_tag == own_region:
        return True
    if deployed_regions is None:
        return False
    others = set(deployed_regions) - {own_region}
    return home_tag not in others and all(own_region < region for region in others)


def ignored_home_tag(
    own_region: str,
    replica_regions: Iterable[str] | None,
    home_tag: str | None,
    deployed_regions: Collection[str] | None,
) -> str | None:
    """Why the home tag cannot be followed (following it would leave the table unprotected), or None if it can.

    `replica_regions` None means not asked for: only the deployment can be checked then.
    """
    if not home_tag or home_tag == own_region:
        return None
    if deployed_regions is not None and home_tag not in deployed_regions:
        return "tablesafe is not deployed in that region"
    if replica_regions is not None and home_tag not in set(replica_regions):
        return "no replica of the table is in that region"
    return None
