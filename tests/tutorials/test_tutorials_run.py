"""The tutorials run as written: every ```python block of each Markdown file, in order, in a
temporary working directory (the files they write go there), with the project's committed data."""
from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from sahel_causal.paths import PROJECT_ROOT

TUTORIALS = sorted((PROJECT_ROOT / "docs" / "tutorials").glob("*.md"))
WORDS_PER_MINUTE = 200  # slow, careful reading of technical text


def code_blocks(text: str) -> list[str]:
    """The ```python blocks of a Markdown text, in order."""
    return re.findall(r"^```python\n(.*?)^```", text, flags=re.S | re.M)


def test_there_are_two_tutorials() -> None:
    names = [p.name for p in TUTORIALS]
    assert names == ["01_east_africa.md", "02_new_outcome_source.md"]


@pytest.mark.parametrize("path", TUTORIALS, ids=lambda p: p.stem)
def test_tutorial_is_short_enough(path: Path) -> None:
    words = len(re.findall(r"\w+", path.read_text(encoding="utf-8")))
    assert words / WORDS_PER_MINUTE < 10, f"{path.name}: {words} words is more than 10 minutes of reading"


@pytest.mark.parametrize("path", TUTORIALS, ids=lambda p: p.stem)
def test_tutorial_code_runs(path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocks = code_blocks(path.read_text(encoding="utf-8"))
    assert len(blocks) >= 3, f"{path.name}: expected several code blocks"
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("OMP_NUM_THREADS", os.environ.get("OMP_NUM_THREADS", "1"))
    namespace: dict[str, object] = {"__name__": f"tutorial_{path.stem}"}
    for i, block in enumerate(blocks, start=1):
        try:
            exec(compile(block, f"{path.name}[block {i}]", "exec"), namespace)  # noqa: S102
        except Exception as exc:  # pragma: no cover - the message is the point
            pytest.fail(f"{path.name}, code block {i} failed: {type(exc).__name__}: {exc}")
