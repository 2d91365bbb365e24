"""Logger, metrics and tracer, created once per process (Powertools: JSON logs, CloudWatch EMF metrics, X-Ray)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit

from tablesafe.constants import METRICS_NAMESPACE

logger = Logger()
metrics = Metrics(namespace=METRICS_NAMESPACE)
# Records nothing outside Lambda, or with POWERTOOLS_TRACE_DISABLED (tablesafe:tracing false).
tracer = Tracer()

COUNT = MetricUnit.Count
SECONDS = MetricUnit.Seconds
NONE = MetricUnit.NoUnit


def put_metrics(dimensions: Mapping[str, str], values: Mapping[str, tuple[float, MetricUnit]]) -> None:
    """Add one set of metrics to this invocation's EMF document, under the given dimensions."""
    for name, value in dimensions.items():
        metrics.add_dimension(name=name, value=value)
    for metric, (amount, unit) in values.items():
        metrics.add_metric(name=metric, unit=unit, value=amount)


class Annotates(Protocol):
    """What annotate needs of a tracer: Powertools' Tracer, or a test's recorder."""

    def put_annotation(self, key: str, value: str) -> object: ...


def annotate(recorder: Annotates, **annotations: str | None) -> None:
    """Index the invocation's trace by job, plan and rule (X-Ray annotations are searchable); None is left out."""
    for key, value in annotations.items():
        if value is not None:
            recorder.put_annotation(key=key, value=value)
