"""Cold start and memory, measured on the deployable artifact in fresh Python 3.13 processes.

Cold start: the time to import each handler module against the time to import boto3 alone, each in a fresh
interpreter that sees only the code asset and the runtime's packages (as tools/lambda_runner.py sets them up), runs
interleaved so that drift in the machine's load hits both alike. Two variants: the asset as bundled (Lambda's
/var/task is read-only and the bundle holds no bytecode, so every cold start compiles tablesafe and Powertools), and
the asset with bytecode compiled in.

Memory: a handler run through LambdaRunner, whose interpreter is started by a small wrapper that waits for it with
wait4() and records its peak resident set (ru_maxrss) and CPU time.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tablesafe.constants import BACKUP_HANDLER, PRUNE_HANDLER
from tools.lambda_runner import RUNTIME_PACKAGES, CloudAssembly, LambdaRunner, lambda_python

MODULES = ("boto3", BACKUP_HANDLER.rpartition(".")[0], PRUNE_HANDLER.rpartition(".")[0])
VCPU_MB = 1769  # Lambda: a function with 1,769 MB has the equivalent of one vCPU; CPU scales with memory

_IMPORT_PROBE = r"""
import importlib, sys, time
sys.path[:0] = [sys.argv[1], sys.argv[2]]
wall, cpu = time.perf_counter(), time.process_time()
importlib.import_module(sys.argv[3])
print(time.perf_counter() - wall, time.process_time() - cpu)
"""

_BREAKDOWN_PROBE = r"""
import importlib, sys
sys.path[:0] = [sys.argv[1], sys.argv[2]]
import boto3
print("--- boto3 imported ---", file=sys.stderr, flush=True)
importlib.import_module(sys.argv[3])
"""

_WRAPPER = """#!{python}
# Runs the real interpreter and records its peak RSS and CPU time (bench: tools/bench/lambda_probe.py).
import json, os, subprocess, sys, time
started = time.monotonic()
child = subprocess.Popen([{real!r}, *sys.argv[1:]])
_, status, usage = os.wait4(child.pid, 0)
child.returncode = os.waitstatus_to_exitcode(status)
with open(os.environ["_BENCH_RUSAGE"], "w") as out:
    json.dump({{"maxrss_kb": usage.ru_maxrss, "cpu_seconds": usage.ru_utime + usage.ru_stime,
               "wall_seconds": time.monotonic() - started}}, out)
sys.exit(child.returncode if child.returncode >= 0 else 1)
"""


def runtime_dir(into: Path) -> Path:
    """What the Lambda runtime provides (boto3 and its dependencies), linked as LambdaRunner links them."""
    import botocore

    site = Path(botocore.__file__).parent.parent
    into.mkdir(parents=True, exist_ok=True)
    for package in RUNTIME_PACKAGES:
        if (site / package).exists():
            (into / package).symlink_to(site / package)
    return into


@dataclass
class ColdStart:
    """Median import times (wall and CPU seconds) per module, for one variant of the asset."""

    variant: str
    runs: int
    wall: dict[str, float] = field(default_factory=dict)
    cpu: dict[str, float] = field(default_factory=dict)
    breakdown_ms: dict[str, dict[str, float]] = field(default_factory=dict)  # handler -> package -> self ms

    def ratio(self, module: str, measure: str = "cpu") -> float:
        figures = self.cpu if measure == "cpu" else self.wall
        return figures[module] / figures["boto3"]


def cold_start(assembly: CloudAssembly, runs: int, workdir: Path) -> list[ColdStart]:
    """Both variants: the asset as bundled (byte code compiled for Python 3.13 at synth) and source only."""
    python = lambda_python()
    spec = assembly.function("tablesafe-backup")
    env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", **spec.environment}
    runtime = runtime_dir(workdir / "runtime")
    bundled = workdir / "asset-as-bundled"
    shutil.copytree(spec.code_dir, bundled)  # with the byte code infra/bundling.py compiled into it
    source_only = workdir / "asset-source-only"
    shutil.copytree(spec.code_dir, source_only, ignore=shutil.ignore_patterns("__pycache__"))
    # The runtime's packages come with their bytecode, as in Lambda: write it once (cpython-313) before measuring.
    subprocess.run(
        [python, "-S", "-c", _IMPORT_PROBE, str(bundled), str(runtime), "boto3"],
        env=env,
        check=True,
        capture_output=True,
    )
    results = []
    for variant, code_dir in (
        ("as bundled (byte code for Python 3.13 compiled into the asset at synth)", bundled),
        ("source only (an asset without byte code: compiled at every cold start)", source_only),
    ):
        probe_env = {**env, "PYTHONDONTWRITEBYTECODE": "1"}  # /var/task is read-only in Lambda
        result = ColdStart(variant, runs)
        samples: dict[str, list[tuple[float, float]]] = defaultdict(list)
        for round_ in range(runs + 1):  # the first round warms the page cache and the runtime's own bytecode
            for module in MODULES:
                done = subprocess.run(
                    [python, "-S", "-c", _IMPORT_PROBE, str(code_dir), str(runtime), module],
                    env=probe_env,
                    capture_output=True,
                    text=True,
                    check=True,
                )
                wall, cpu = (float(x) for x in done.stdout.split())
                if round_:
                    samples[module].append((wall, cpu))
        for module, values in samples.items():
            result.wall[module] = statistics.median(v[0] for v in values)
            result.cpu[module] = statistics.median(v[1] for v in values)
        for module in MODULES[1:]:
            result.breakdown_ms[module] = _breakdown(python, code_dir, runtime, module, probe_env)
        results.append(result)
    return results


def _breakdown(python: str, code_dir: Path, runtime: Path, module: str, env: dict[str, str]) -> dict[str, float]:
    """Milliseconds of import (self time, -X importtime) per top-level package, of what the handler adds to boto3."""
    done = subprocess.run(
        [python, "-S", "-X", "importtime", "-c", _BREAKDOWN_PROBE, str(code_dir), str(runtime), module],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    after = done.stderr.split("--- boto3 imported ---", 1)[1]
    totals: dict[str, float] = defaultdict(float)
    for line in after.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        self_us, _, name = (part.strip() for part in line[len("import time:") :].split("|"))
        if not self_us.isdigit():
            continue
        totals[name.split(".")[0]] += int(self_us) / 1000
    return dict(sorted(totals.items(), key=lambda item: -item[1]))


@dataclass
class MemoryRun:
    """One handler invocation's peak RSS and CPU, and what it did."""

    function: str
    description: str
    peak_rss_mb: float
    cpu_seconds: float
    wall_seconds: float
    result: Any
    error: Any

    @property
    def vcpu_share(self) -> float:
        return self.cpu_seconds / self.wall_seconds if self.wall_seconds else 0.0

    @property
    def memory_for_cpu_mb(self) -> float:
        """Memory size whose CPU share equals what the run used here (Lambda: 1,769 MB = 1 vCPU)."""
        return self.vcpu_share * VCPU_MB


def invoke_measured(
    assembly: CloudAssembly,
    aws_env: dict[str, str],
    function: str,
    event: dict[str, Any],
    description: str,
    workdir: Path,
) -> MemoryRun:
    """Invoke `function` once through LambdaRunner and read its interpreter's peak RSS and CPU time."""
    wrapper = workdir / "python-rusage"
    wrapper.write_text(_WRAPPER.format(python=sys.executable, real=lambda_python()))
    wrapper.chmod(0o755)
    usage_file = workdir / f"{function}.rusage.json"
    env = {**aws_env, "_BENCH_RUSAGE": str(usage_file)}
    with LambdaRunner(assembly, env, python=str(wrapper)) as runner:
        invocation = runner.invoke(function, event)
    usage = json.loads(usage_file.read_text())
    return MemoryRun(
        function=function,
        description=description,
        peak_rss_mb=usage["maxrss_kb"] / 1024,
        cpu_seconds=usage["cpu_seconds"],
        wall_seconds=usage["wall_seconds"],
        result=invocation.result,
        error=invocation.error,
    )


def scratch_dir() -> Path:
    return Path(tempfile.mkdtemp(prefix="tablesafe-bench-"))


def python_versions() -> dict[str, str]:
    lambda_version = subprocess.run(
        [lambda_python(), "-S", "-c", "import sys; print(sys.version.split()[0])"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    return {"bench": sys.version.split()[0], "lambda runtime (handler processes)": lambda_version}


def machine() -> dict[str, str]:
    """nproc, CPU model, RAM, load, Python versions: the machine the figures were taken on."""
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = "unknown"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                memory = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    load = os.getloadavg()
    return {
        "nproc": str(os.cpu_count()),
        "cpu": cpu,
        "memory": memory,
        "load average at start (1/5/15 min)": " / ".join(f"{x:.2f}" for x in load),
        **{f"python ({k})": v for k, v in python_versions().items()},
    }
