"""The size gate (tools/size_gate.py) on a repository of its own: what fails, what only warns, what passes."""

from __future__ import annotations

from pathlib import Path

import pytest

from tools.size_gate import Limits, check, main

GATEWAY = """
class Gateway:
    def __init__(self, client):
        self._client = client

    def _call(self, operation):
        return self._client.call(operation)
"""


def repository(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in {"lambdas/tablesafe/aws/gateway.py": GATEWAY, **files}.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    return tmp_path


def module(lines: int) -> str:
    return "".join(f"X{i} = {i}\n" for i in range(lines))


def function(lines: int) -> str:
    """A function of exactly `lines` lines, decorator included."""
    body = "".join(f"    x{i} = {i}\n" for i in range(lines - 3))
    return f"@decorated\ndef long():\n{body}    return 0\n"


def messages(root: Path) -> list[tuple[str, str, bool]]:
    return [(str(f.path), f.message.split(" (")[0], f.fails) for f in check(root, Limits())]


def test_a_product_module_over_400_lines_fails_over_300_warns_and_up_to_300_passes(tmp_path: Path) -> None:
    root = repository(
        tmp_path,
        {"lambdas/tablesafe/big.py": module(401), "infra/middling.py": module(301), "app.py": module(300)},
    )

    assert sorted(messages(root)) == [
        ("infra/middling.py", "module of 301 lines", False),
        ("lambdas/tablesafe/big.py", "module of 401 lines", True),
    ]


def test_a_product_function_over_80_lines_fails_and_over_60_warns(tmp_path: Path) -> None:
    root = repository(
        tmp_path,
        {"infra/a.py": function(81), "infra/b.py": function(61), "infra/c.py": function(60)},
    )

    assert sorted(messages(root)) == [
        ("infra/a.py", "function long of 81 lines", True),
        ("infra/b.py", "function long of 61 lines", False),
    ]


def test_tests_and_tools_are_not_held_to_the_product_sizes(tmp_path: Path) -> None:
    root = repository(tmp_path, {"tests/test_long.py": module(500), "tools/long.py": function(120)})

    assert messages(root) == []


@pytest.mark.parametrize(
    "line",
    [
        "gateway._client.describe_table()",
        "Stubber(gateway._client)",
        "gateway._client = fake",
        "super()._call('ListBackups')",
        "monkeypatch.setattr(gateway, '_client', fake)",
        "setattr(gateway, '_call', fake)",
    ],
)
def test_a_test_reaching_into_a_gateways_private_attribute_fails(tmp_path: Path, line: str) -> None:
    root = repository(tmp_path, {"tests/unit/test_x.py": f"def test_x(gateway, monkeypatch, fake):\n    {line}\n"})

    (finding,) = check(root, Limits())
    assert (str(finding.path), finding.line, finding.fails) == ("tests/unit/test_x.py", 2, True)
    assert "a gateway's private attribute" in finding.message


def test_a_test_using_a_gateway_through_its_public_face_or_its_own_privates_passes(tmp_path: Path) -> None:
    test = """
class Recorder:
    def __init__(self):
        self._client = None

def test_x(gateway, monkeypatch, fake):
    gateway.describe("orders")
    monkeypatch.setattr(gateway, "describe", fake)
    Recorder()._other
"""
    root = repository(tmp_path, {"tests/unit/test_x.py": test})

    assert check(root, Limits()) == []


def test_the_command_exits_1_on_a_failure_and_0_on_warnings_only(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    warned = repository(tmp_path / "warned", {"infra/middling.py": module(301)})
    failed = repository(tmp_path / "failed", {"lambdas/tablesafe/big.py": module(401)})

    assert main(["--root", str(warned)]) == 0
    assert "infra/middling.py:1: warning: module of 301 lines" in capsys.readouterr().out
    assert main(["--root", str(failed)]) == 1
    out = capsys.readouterr().out
    assert "lambdas/tablesafe/big.py:1: error: module of 401 lines" in out
    assert out.splitlines()[-1] == "size gate: 1 over a limit, 0 warnings"
