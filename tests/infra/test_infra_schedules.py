"""The schedules construct's own rules, below a synthesized app: the logical ids it keeps."""

from __future__ import annotations

import pytest
from aws_cdk import App, CfnResource, Stack
from constructs import Construct

from infra.schedules import cdk_logical_id

pytestmark = pytest.mark.xdist_group("infra")

PATHS = [
    ["Schedules", "Backup.gfs.daily"],
    ["Schedules", "Prune"],
    ["Schedules", "Backup.critical.quarterly-hour", "Resource"],
    ["Outer", "Default", "Inner"],
    ["Schedules", "Schedules"],  # CDK drops a component its predecessor ends with from the readable part
    ["Top-level.id"],  # one component: the id itself, without its punctuation
    ["Long" * 70, "x"],  # the readable part is cut at 240 characters, the hash kept
]


@pytest.mark.parametrize("path", PATHS, ids=["/".join(p)[:40] for p in PATHS])
def test_logical_id_is_the_one_cdk_allocates_at_that_path(path: list[str]) -> None:
    stack = Stack(App(), "Stack")
    scope: Construct = stack
    for component in path[:-1]:
        scope = Construct(scope, component)
    resource = CfnResource(scope, path[-1], type="AWS::SQS::Queue")

    assert cdk_logical_id(path) == stack.get_logical_id(resource)
