"""Logger and metrics, created once per process (Powertools: JSON logs, CloudWatch EMF metrics)."""

from __future__ import annotations

from collections.abc import Mapping

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from tablesafe.constants import METRICS_NAMESPACE

logger = Logger()
metrics = Metrics(namespace=METRICS_NAMESPACE)

COUNT = MetricUnit.Count
SECONDS = MetricUnit.Seconds
NONE = MetricUnit.NoUnit


def put_metrics(dimensions: Mapping[str, str], values: Mapping[str, tuple[float, MetricUnit]]) -> None:
    """Add one set of metrics to this invocation's EMF document, under the given dimensions."""
    for name, value in dimensions.items():
        metrics.add_dimension(name=name, value=value)
    for metric, (amount, unit) in values.items():
        metrics.add_metric(name=metric, unit=unit, value=amount)
