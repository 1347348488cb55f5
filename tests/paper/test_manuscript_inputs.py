"""The manuscript builds from generated files only: every table, figure and number it uses exists.

Checked without TeX: each \\GeneratedTable / \\GeneratedFigure / \\input / \\includegraphics target is
in results/ (or is one of the outputs other designs produce, listed in PENDING, which the
manuscript guards with a placeholder box), every \\R{key} is defined in results/numbers.tex, and
every citation is in paper/references.bib.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from sahel_causal.paths import PROJECT_ROOT
from sahel_causal.report.numbers import defined_keys

PAPER = PROJECT_ROOT / "paper" / "main.tex"
RESULTS = PROJECT_ROOT / "results"
#: Outputs the manuscript uses that `make reproduce` may not have written yet (guarded in the
#: manuscript by a placeholder box). Empty: every design's outputs are now produced.
PENDING: set[str] = set()


def _text() -> str:
    return re.sub(r"(?<!\\)%.*", "", PAPER.read_text(encoding="utf-8"))  # drop comments


def used_outputs(text: str) -> set[str]:
    """results/-relative paths the manuscript pulls in."""
    out = {f"tables/{m}" for m in re.findall(r"\\GeneratedTable\{([^}]+)\}", text)}
    out |= {f"figures/{m}" for m in re.findall(r"\\GeneratedFigure\{([^}]+)\}", text)}
    for m in re.findall(r"\\(?:input|InputIfFileExists)\{\.\./results/([^}]+)\}", text):
        if "#" not in m:  # the argument of a macro definition
            out.add(m)
    out |= {f"figures/{m}" for m in re.findall(r"\\includegraphics(?:\[[^]]*\])?\{([^}#]+)\}", text)}
    return out


def used_keys(text: str) -> set[str]:
    """Keys of every \\R{...} in the text (not the macro definition)."""
    return {k for k in re.findall(r"\\R\{([^}]+)\}", text) if "#" not in k}


def test_every_generated_output_the_paper_uses_exists() -> None:
    used = used_outputs(_text())
    assert {"tables/table2_coups.tex", "figures/figure2_timeline.pdf", "numbers.tex"} <= used
    missing = sorted(u for u in used - PENDING if not (RESULTS / u).is_file())
    assert not missing, f"main.tex uses outputs that `make reproduce` did not write: {missing}"
    assert PENDING <= used, "every pending output must be referenced (guarded) by the manuscript"


def test_pending_outputs_are_guarded_not_input_directly() -> None:
    text = _text()
    for p in PENDING:
        name = p.split("/", 1)[1]
        assert not re.search(r"\\input\{[^}]*" + re.escape(name), text), f"{name} must go through \\GeneratedTable"


def test_every_number_macro_is_defined() -> None:
    numbers = RESULTS / "numbers.tex"
    if not numbers.is_file():
        pytest.fail("results/numbers.tex is missing: run `sahel-causal reproduce`")
    defined = defined_keys(numbers.read_text(encoding="utf-8"))
    used = used_keys(_text())
    assert len(used) >= 40, "the results text should cite its numbers through \\R{...}"
    missing = sorted(used - defined)
    assert not missing, f"\\R keys not in results/numbers.tex: {missing}"


def test_no_digits_typed_in_the_results_prose() -> None:
    text = _text()
    body = text[text.index(r"\section{Results}"):text.index(r"\section{Robustness}")]
    body = re.sub(r"\\R\{[^}]*\}", "", body)
    body = re.sub(r"\\(?:Generated\w+|label|ref|cite\w*|subsection)\{[^}]*\}(\{[^}]*\})*", "", body)
    body = re.sub(r"Tables?[~ ]?\d( and \d|--\d)?|column \d+|Section 7008|\$\\times 100\$|95\\%", "", body)
    body = re.sub(r"\b[A-Za-z]+\d+\b", "", body)  # names such as CRV1, G5, H2
    digits = re.findall(r"\d+(?:\.\d+)?", body)
    assert not digits, f"numbers typed into the results section (use \\R keys): {digits[:10]}"


def test_citations_are_in_the_bibliography() -> None:
    bib = (PROJECT_ROOT / "paper" / "references.bib").read_text(encoding="utf-8")
    keys = set(re.findall(r"@\w+\{([^,]+),", bib))
    cited = {k.strip() for grp in re.findall(r"\\cite\w*\{([^}]+)\}", _text()) for k in grp.split(",")}
    assert cited and not cited - keys, f"missing bibliography entries: {sorted(cited - keys)}"
