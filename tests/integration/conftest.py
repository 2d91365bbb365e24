"""Set-up shared by the integration tests of the CLI."""

from __future__ import annotations

import pytest


@pytest.fixture
def aws(standin, monkeypatch, tmp_path):
    """A DynamoDB client of the stand-in; the CLI runs from an empty directory, so with the default configuration
    (tag backup-plan, plan daily with rule daily, prefix tablesafe)."""
    monkeypatch.chdir(tmp_path)
    return standin.client("dynamodb")
