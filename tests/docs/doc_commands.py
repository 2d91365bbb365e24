"""The shell commands shown in README.md and docs/*.md, as the docs test reads them.

A command is a line of a fenced `bash`/`sh`/`shell` block (backslash continuations joined, comment lines left
out), or a `$ ` line of a `text`/`console` block, whose following lines are the output it shows. Its trailing
comment may say what it needs instead of running here; the markers (README.md, "Commands in these docs"):
`needs AWS` (an AWS account, or the AWS CLI v2: `needs AWS CLI v2`), `needs PITR` (on since a time the example
names), `needs an export` (a completed export of the table: an export rule that has run), `takes minutes`,
`until Ctrl-C`, and a
`<placeholder>` in the command itself. `exit code N` in the comment is the exit code it is expected to give.
`<!-- doc-commands: fresh sandbox -->` before a block runs it on an empty sandbox instead of the sample account.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCS = (ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")))
SHELL_LANGUAGES = frozenset({"bash", "sh", "shell"})
OUTPUT_LANGUAGES = frozenset({"text", "console"})
MARKERS = ("needs AWS", "needs PITR", "needs an export", "takes minutes", "until Ctrl-C")
_FENCE = re.compile(r"^```(\S*)\s*$")
_PLACEHOLDER = re.compile(r"<[A-Za-z][^<>]*>")
_EXIT_CODE = re.compile(r"exit code (\d+)")
FRESH = "<!-- doc-commands: fresh sandbox -->"


@dataclass(frozen=True)
class DocCommand:
    """One command of the docs, where it is, and what its comment and the block around it say."""

    path: str
    line: int
    block: int  # index of its fenced block among all the docs' blocks
    command: str
    comment: str
    expected_output: str  # for a `$ ` line: the output the docs show (may be empty)
    fresh: bool  # the block starts from an empty sandbox

    @property
    def where(self) -> str:
        return f"{self.path}:{self.line}"

    @property
    def marker(self) -> str | None:
        """Why the docs test does not run it, as its comment (or a placeholder) says; None: it runs."""
        if _PLACEHOLDER.search(self.command):
            return "placeholder"
        return next((m for m in MARKERS if m in self.comment), None)

    @property
    def exit_code(self) -> int:
        found = _EXIT_CODE.search(self.comment)
        return int(found.group(1)) if found else 0


def split_comment(line: str) -> tuple[str, str]:
    """(command, trailing comment): the first `#` outside quotes that starts a word."""
    quote = None
    for index, char in enumerate(line):
        if quote:
            quote = None if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "#" and (index == 0 or line[index - 1].isspace()):
            return line[:index].rstrip(), line[index + 1 :].strip()
    return line.rstrip(), ""


def _shell_commands(lines: list[str], first_line: int) -> list[tuple[int, str, str]]:
    commands, pending, start = [], "", 0
    for offset, raw in enumerate(lines):
        if not pending:
            start = first_line + offset
            if not raw.strip() or raw.lstrip().startswith("#"):
                continue
        if raw.rstrip().endswith("\\"):
            pending += raw.rstrip()[:-1].rstrip() + " "
            continue
        command, comment = split_comment(pending + raw.strip())
        commands.append((start, " ".join(command.split()), comment))
        pending = ""
    return commands


def _output_commands(lines: list[str], first_line: int) -> list[tuple[int, str, str, str]]:
    commands: list[tuple[int, str, str, str]] = []
    for offset, raw in enumerate(lines):
        if raw.startswith("$ "):
            command, comment = split_comment(raw[2:])
            output = []
            for follow in lines[offset + 1 :]:
                if not follow.strip() or follow.startswith("$ "):
                    break
                output.append(follow)
            commands.append((first_line + offset, command.strip(), comment, " ".join(output)))
    return commands


def read_docs(paths: tuple[Path, ...] = DOCS) -> tuple[list[DocCommand], list[str]]:
    """Every command of the docs, and the places of fenced blocks without a language (which hide commands)."""
    commands: list[DocCommand] = []
    untagged: list[str] = []
    block = 0
    for path in paths:
        lines = path.read_text().splitlines()
        name = str(path.relative_to(ROOT))
        index = 0
        while index < len(lines):
            opening = _FENCE.match(lines[index])
            if opening is None:
                index += 1
                continue
            end = next(i for i in range(index + 1, len(lines)) if lines[i].startswith("```"))
            language, body, first = opening.group(1), lines[index + 1 : end], index + 2
            before = next((lines[i] for i in range(index - 1, -1, -1) if lines[i].strip()), "")
            fresh = before.strip() == FRESH
            if not language:
                untagged.append(f"{name}:{index + 1}")
            elif language in SHELL_LANGUAGES:
                for line, command, comment in _shell_commands(body, first):
                    commands.append(DocCommand(name, line, block, command, comment, "", fresh))
            elif language in OUTPUT_LANGUAGES:
                for line, command, comment, output in _output_commands(body, first):
                    commands.append(DocCommand(name, line, block, command, comment, output, fresh))
            block += 1
            index = end + 1
    return commands, untagged
