"""LaTeX output prints spec and data strings as text (issue 13 item 2).

Every string from a specification or the data goes through
:func:`sahel_causal.report.latex.escape_latex`: a model label ``\\input /etc/hostname`` must
appear in the ``.tex`` file as the characters ``\\textbackslash{}input /etc/hostname``, never as
a LaTeX command that would read a file when the paper is compiled.
"""
from __future__ import annotations

import re

import pandas as pd
import pytest

from sahel_causal.report.latex import LATEX_ESCAPES, escape_latex, latex_label
from sahel_causal.report.tables import Table, tex_escape

HOSTILE = r"\input /etc/hostname"


def _unescaped_commands(tex: str, allowed: set[str]) -> set[str]:
    """Control words in ``tex`` that are not produced by the writer itself."""
    tex = tex.replace("\\\\", " ")  # a line break \\ is not a control word
    return {m for m in re.findall(r"\\([A-Za-z]+)", tex)} - allowed


WRITER_COMMANDS = {"begin", "end", "centering", "caption", "label", "small", "toprule", "midrule", "bottomrule",
                   "par", "smallskip", "parbox", "linewidth", "footnotesize", "textbackslash", "textasciitilde",
                   "textasciicircum", "textless", "textgreater", "textbar",
                   # the journal layout of Tables 2-4 (great_tables' tabular* with makecell headers)
                   "setlength", "tabcolsep", "extracolsep", "fill", "cmidrule", "multicolumn", "makecell",
                   "textit", "scriptsize", "raggedright", "addlinespace", "renewcommand", "arraystretch"}


def test_every_special_character_is_escaped():
    text = "".join(LATEX_ESCAPES)
    out = escape_latex(text)
    assert out == (r"\textbackslash{}\{\}\$\&\#\textasciicircum{}\_\textasciitilde{}\%"
                   r"\textless{}\textgreater{}\textbar{}")
    assert tex_escape(text) == out
    # No special character survives unescaped: remove the escapes, nothing special is left.
    stripped = re.sub(r"\\(textbackslash|textasciicircum|textasciitilde|textless|textgreater|textbar)\{\}", "", out)
    stripped = re.sub(r"\\[{}$&#_%]", "", stripped)
    assert not set(stripped) & set(LATEX_ESCAPES)


def test_escape_is_one_pass_and_flattens_line_breaks():
    assert escape_latex(r"\{") == r"\textbackslash{}\{"
    assert escape_latex("a\n\nb\r\nc") == "a  b c"
    assert escape_latex(3.5) == "3.5"


def test_labels_are_safe_in_label_commands():
    assert latex_label("table2_coups") == "table2_coups"
    assert latex_label(r"x}\input{y") == "x--input-y"


def test_hostile_strings_print_as_text_in_a_table():
    body = pd.DataFrame({"Model": [HOSTILE, "Mali & Niger"], f"p {HOSTILE}": ["<0.001", "50%"]})
    t = Table(name="t}\\x", title=f"Title {HOSTILE}", body=body, notes=(f"note {HOSTILE} $x$ ~ ^ _ # | >",),
              provenance={"spec": HOSTILE})
    tex = t.to_latex()
    assert "\\input" not in tex
    assert r"\textbackslash{}input /etc/hostname" in tex
    assert _unescaped_commands(tex, WRITER_COMMANDS) == set()
    assert r"\textless{}0.001" in tex and r"50\%" in tex and r"Mali \& Niger" in tex
    assert r"\label{tab:t--x}" in tex


SPEC = """
[table]
id = "t_latex"
title = 'Title \\input /etc/hostname'
notes = ['Note \\input{/etc/hostname} & 100% of $x_1$ ~ ^ # | < >']

[sample]
countries = "africa"
years = [2000, 2019]

[[model]]
id = "m"
label = '\\input /etc/hostname'
outcome = "coup_attempts"
treatments = ["us_trainees"]
fixed_effects = ["iso3", "year"]

[inference]
vcov = ["CRV1"]
cluster = "iso3"
"""


def test_spec_strings_print_as_text_in_the_results_table(tmp_path):
    """The real path: a spec's title, notes and model label, estimated and formatted as Table 2-4 are."""
    from sahel_causal.estimation import estimate
    from sahel_causal.pipeline import load_panel
    from sahel_causal.report.results_table import format_results
    from sahel_causal.specs.io import load_spec

    path = tmp_path / "t_latex.toml"
    path.write_text(SPEC, encoding="utf-8")
    spec = load_spec(path)
    assert spec.models[0].label == HOSTILE
    tr = estimate(spec, load_panel())
    table = format_results(tr, {"spec": path.name, "sha256": "0" * 16})
    written = table.write(tmp_path / "tables")
    tex = (tmp_path / "tables" / "t_latex.tex").read_text()
    assert len(written) == 3
    assert "\\input" not in tex
    assert tex.count(r"\textbackslash{}input") == 3          # title, note, model label
    assert r"100\% of \$x\_1\$ \textasciitilde{} \textasciicircum{} \# \textbar{} \textless{} \textgreater{}" in tex
    assert _unescaped_commands(tex, WRITER_COMMANDS) == set()


@pytest.mark.parametrize("name", ["Côte d'Ivoire", "São Tomé and Príncipe", "Guinea-Bissau"])
def test_country_names_survive(name):
    assert escape_latex(name) == name
