"""The table names of another region (ListTables): the only tables there that can be a replica of one here.

A global table's replicas all carry the table's name (DynamoDB, "Global tables: how it works"), so a table whose
name no other deployed region has cannot be homed in another deployed region; only the others need DescribeTable.
"""

from __future__ import annotations

import boto3

from tablesafe.aws.clients import client_config
from tablesafe.aws.errors import call


class RegionTableNames:
    """ListTables, all pages, in a region given by name; one client per region, built on first use."""

    def __init__(self, session: boto3.Session | None = None) -> None:
        self.session = session or boto3.Session()
        self._config = client_config(max_attempts=8, max_connections=2, agent="tablesafe-replicas")

    def __call__(self, region: str) -> frozenset[str]:
        """Every table name of `region`; raises GatewayError when the listing cannot be completed."""
        client = self.session.client("dynamodb", region_name=region, config=self._config)
        pages = client.get_paginator("list_tables").paginate(PaginationConfig={"PageSize": 100})
        return call("ListTables", client, lambda: frozenset(n for page in pages for n in page.get("TableNames", [])))
