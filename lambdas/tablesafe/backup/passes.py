"""The worker pool and the time budget: one pass over tables, in parallel, that stops starting when time is short."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass

from tablesafe.backup.report import Outcome, TableResult


@dataclass(frozen=True)
class TimeBudget:
    """The invocation's remaining time above the reserve the run keeps for finishing and handing over."""

    time_left: Callable[[], float]
    reserve: float

    def allows(self, extra: float = 0.0) -> bool:
        return self.time_left() > self.reserve + extra


@dataclass
class Pass:
    """What one pass left: the tables deferred (to try again within the run) and those never started."""

    deferred: list[TableResult]
    not_started: list[str]


def run_pass(
    tables: Iterable[str],
    work: Callable[[str], TableResult],
    finished: Callable[[TableResult], None],
    *,
    workers: int,
    budget: TimeBudget,
) -> Pass:
    """`work` on each table, `workers` at a time, in order; `finished` gets every result that is not a deferral."""
    deferred: list[TableResult] = []
    pending = iter(tables)
    in_flight: dict[Future[TableResult], str] = {}
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="backup") as pool:
        while True:
            while len(in_flight) < workers * 2 and budget.allows():
                table = next(pending, None)
                if table is None:
                    break
                in_flight[pool.submit(work, table)] = table
            if not in_flight:
                break
            done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
            for future in done:
                result = future.result()
                del in_flight[future]
                if result.outcome is Outcome.DEFERRED:
                    deferred.append(result)
                else:
                    finished(result)
    return Pass(deferred, list(pending))
