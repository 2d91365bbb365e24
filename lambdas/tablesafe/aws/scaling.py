"""The auto scaling gateway: a table's application auto scaling targets and policies, read and applied again."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tablesafe.aws.errors import call, pages

if TYPE_CHECKING:
    from mypy_boto3_application_autoscaling import ApplicationAutoScalingClient

SCALABLE_DIMENSIONS = (
    "dynamodb:table:ReadCapacityUnits",
    "dynamodb:table:WriteCapacityUnits",
    "dynamodb:index:ReadCapacityUnits",
    "dynamodb:index:WriteCapacityUnits",
)


@dataclass(frozen=True)
class ScalingSetup:
    """One scalable dimension of a table or index and its target-tracking policies (resource ids relative)."""

    suffix: str  # "" for the table, "/index/NAME" for a global secondary index
    dimension: str
    min_capacity: int
    max_capacity: int
    policies: tuple[dict[str, Any], ...] = field(default=())  # PolicyName, PolicyType, configuration


class ScalingGateway:
    """Application auto scaling of a region's DynamoDB tables."""

    def __init__(self, scaling: ApplicationAutoScalingClient) -> None:
        self._scaling = scaling

    def scaling(self, name: str) -> list[ScalingSetup]:
        """The application auto scaling targets of a table and its indexes, with their policies."""
        prefix = f"table/{name}"
        listing = self._scaling.get_paginator("describe_scalable_targets").paginate(ServiceNamespace="dynamodb")
        targets = [
            t
            for page in pages("DescribeScalableTargets", self._scaling, listing)
            for t in page.get("ScalableTargets", [])
            if t["ResourceId"] == prefix or t["ResourceId"].startswith(prefix + "/index/")
        ]
        return [
            ScalingSetup(
                suffix=target["ResourceId"][len(prefix) :],
                dimension=target["ScalableDimension"],
                min_capacity=int(target["MinCapacity"]),
                max_capacity=int(target["MaxCapacity"]),
                policies=tuple(self._policies(target["ResourceId"], target["ScalableDimension"])),
            )
            for target in sorted(targets, key=lambda t: (t["ResourceId"], t["ScalableDimension"]))
        ]

    def _policies(self, resource_id: str, dimension: Any) -> list[dict[str, Any]]:
        listing = self._scaling.get_paginator("describe_scaling_policies").paginate(
            ServiceNamespace="dynamodb", ResourceId=resource_id, ScalableDimension=dimension
        )
        policies: list[dict[str, Any]] = []
        for page in pages("DescribeScalingPolicies", self._scaling, listing):
            for policy in page.get("ScalingPolicies", []):
                # The service filters by resource id prefix in some implementations: keep exact matches only.
                if policy.get("ResourceId") != resource_id or policy.get("ScalableDimension") != dimension:
                    continue
                kept: dict[str, Any] = {"PolicyName": policy["PolicyName"], "PolicyType": policy["PolicyType"]}
                for key in ("TargetTrackingScalingPolicyConfiguration", "StepScalingPolicyConfiguration"):
                    if key in policy:
                        kept[key] = policy[key]
                policies.append(kept)
        return policies

    def apply_scaling(self, name: str, setup: ScalingSetup) -> None:
        """Register the scalable target for `name` and put its policies."""
        resource_id = f"table/{name}{setup.suffix}"
        dimension: Any = setup.dimension
        call(
            "RegisterScalableTarget",
            self._scaling,
            lambda: self._scaling.register_scalable_target(
                ServiceNamespace="dynamodb",
                ResourceId=resource_id,
                ScalableDimension=dimension,
                MinCapacity=setup.min_capacity,
                MaxCapacity=setup.max_capacity,
            ),
        )
        for policy in setup.policies:
            self._put_policy(resource_id, dimension, policy)

    def _put_policy(self, resource_id: str, dimension: Any, policy: dict[str, Any]) -> None:
        call(
            "PutScalingPolicy",
            self._scaling,
            lambda: self._scaling.put_scaling_policy(
                ServiceNamespace="dynamodb", ResourceId=resource_id, ScalableDimension=dimension, **policy
            ),
        )
