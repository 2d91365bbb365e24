"""The replica policy (home-region mode): a global-table replica another deployed region backs up is skipped here."""

from __future__ import annotations

import threading
from collections.abc import Mapping

from tablesafe.aws.dynamodb import DynamoDbGateway, GatewayError, TableNotFound
from tablesafe.backup.report import Outcome, TableResult
from tablesafe.config.settings import Settings
from tablesafe.observability import logger
from tablesafe.rules.home_region import (
    HOME_REGION,
    HOME_REGION_TAG,
    backup_region,
    decided_without_replicas,
    ignored_home_tag,
)


class ReplicaPolicy:
    """Decides, table by table, whether this region backs the table up; asks DescribeTable once per table and run."""

    def __init__(self, gateway: DynamoDbGateway, settings: Settings) -> None:
        self.gateway = gateway
        self.settings = settings
        self.tags: Mapping[str, Mapping[str, str]] = {}
        # The table names of the other deployed regions: only a table named there can be a replica homed there.
        # None: not known (not asked, or the listing failed), so any table may be one and DescribeTable decides.
        self.candidates: frozenset[str] | None = None
        self._asked = False
        self._lock = threading.Lock()
        self._replicas: dict[str, tuple[str, ...]] = {}
        self._warned_home_tags: set[str] = set()

    def backed_up_elsewhere(self, table: str) -> TableResult | None:
        """A global-table replica whose home region is another: skipped here (home-region mode only)."""
        if self.settings.global_tables != HOME_REGION:
            return None
        home_tag = self.tags.get(table, {}).get(HOME_REGION_TAG)
        region = self.gateway.region
        deployed = self.settings.deployed_regions
        if decided_without_replicas(region, home_tag, deployed):
            # Backed up here whatever its replicas (tagged home here, or no other deployed region could be home).
            self._warn_ignored_home_tag(table, home_tag, ignored_home_tag(region, None, home_tag, deployed))
            return None
        candidates = self._candidates(region, deployed)
        if candidates is not None and table not in candidates:
            # No other deployed region has a table of this name, so none holds a replica of it: home is here.
            self._warn_ignored_home_tag(table, home_tag, ignored_home_tag(region, (), home_tag, deployed))
            return None
        try:
            replicas = self._replicas.get(table)
            if replicas is None:  # asked once per run: a deferred table comes back through here on each retry
                replicas = self._replicas[table] = self.gateway.describe_table(table).replica_regions
        except TableNotFound:
            return TableResult(table, Outcome.SKIPPED, "table no longer exists (deleted after discovery)")
        except GatewayError as error:
            logger.warning("could not check for global-table replicas; backing up here", table=table, error=str(error))
            return None
        if not replicas:
            self._warn_ignored_home_tag(table, home_tag, ignored_home_tag(region, None, home_tag, deployed))
            return None
        home = backup_region(region, replicas, home_tag, deployed)
        self._warn_ignored_home_tag(table, home_tag, ignored_home_tag(region, replicas, home_tag, deployed), home)
        if home == region:
            return None
        return TableResult(
            table, Outcome.SKIPPED, f"global table replica; its home region {home} backs it up", replica_skipped=True
        )

    def _candidates(self, region: str, deployed: tuple[str, ...] | None) -> frozenset[str] | None:
        """The other deployed regions' table names, listed once per run on first need (ListTables, 100 a page)."""
        with self._lock:
            if self.candidates is not None or self._asked or deployed is None:
                return self.candidates
            self._asked = True
            others = sorted(set(deployed) - {region})
            try:
                self.candidates = frozenset().union(*(self.gateway.table_names_in(other) for other in others))
            except GatewayError as error:
                logger.warning(
                    "could not list the tables of the other deployed regions; asking each table for its replicas",
                    regions=others,
                    error=str(error),
                )
            return self.candidates

    def _warn_ignored_home_tag(self, table: str, home_tag: str | None, reason: str | None, home: str = "") -> None:
        if reason is None or table in self._warned_home_tags:  # once per run, not again on a deferred table's retry
            return
        self._warned_home_tags.add(table)
        logger.warning(
            "home-region tag cannot be followed; the table is backed up in backup_region instead",
            table=table,
            tag=HOME_REGION_TAG,
            home_tag=home_tag,
            reason=reason,
            backup_region=home or self.gateway.region,
            deployed_regions=self.settings.deployed_regions,
        )
