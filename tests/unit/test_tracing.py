"""Trace annotations: every invocation's trace is searchable by job, plan and rule."""

from __future__ import annotations

from tablesafe.observability import annotate


class Recorder:
    def __init__(self) -> None:
        self.annotations: dict[str, str] = {}

    def put_annotation(self, key: str, value: str) -> None:
        self.annotations[key] = value


def test_job_plan_and_rule_become_annotations() -> None:
    recorder = Recorder()
    annotate(recorder, job="backup", plan="daily", rule="nightly")
    assert recorder.annotations == {"job": "backup", "plan": "daily", "rule": "nightly"}


def test_what_a_job_does_not_have_is_left_out() -> None:
    recorder = Recorder()
    annotate(recorder, job="prune", plan=None, rule=None)
    assert recorder.annotations == {"job": "prune"}
