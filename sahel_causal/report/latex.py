"""Text into LaTeX: the one escaping function every LaTeX writer of the package uses.

Every string that reaches a ``.tex`` file from a specification or from the data (titles,
labels, notes, country names, provenance) goes through :func:`escape_latex`, so that it is
typeset as the characters it contains and never interpreted: a label such as
``\\input /etc/hostname`` prints as that text instead of reading a file.

The ten LaTeX special characters ``\\ { } $ & # ^ _ ~ %`` are replaced by commands that print
them; ``<``, ``>`` and ``|``, which the default OT1 font encoding prints as other glyphs in
text mode, are printed with ``\\textless{}``, ``\\textgreater{}`` and ``\\textbar{}``.
Reference: Lamport, *LaTeX: A Document Preparation System*, 2nd ed., section 3.2.1; the
LaTeX Project, *LaTeX2e font selection* (fntguide), on the OT1 encoding.
"""
from __future__ import annotations

import re

#: Character -> LaTeX text-mode command that prints it (applied in one pass, so replacements
#: are never escaped twice).
LATEX_ESCAPES: dict[str, str] = {
    "\\": r"\textbackslash{}",
    "{": r"\{",
    "}": r"\}",
    "$": r"\$",
    "&": r"\&",
    "#": r"\#",
    "^": r"\textasciicircum{}",
    "_": r"\_",
    "~": r"\textasciitilde{}",
    "%": r"\%",
    "<": r"\textless{}",
    ">": r"\textgreater{}",
    "|": r"\textbar{}",
}

_PATTERN = re.compile("|".join(re.escape(ch) for ch in LATEX_ESCAPES))
_LABEL_UNSAFE = re.compile(r"[^A-Za-z0-9_.:-]")


def escape_latex(value: object) -> str:
    """``str(value)`` with every LaTeX special character replaced by a command that prints it.

    Line breaks are replaced by spaces (a blank line would end a paragraph inside a cell).
    """
    text = str(value).replace("\r\n", " ").replace("\n", " ").replace("\r", " ")
    return _PATTERN.sub(lambda m: LATEX_ESCAPES[m.group(0)], text)


def latex_label(value: object) -> str:
    """A string safe inside ``\\label{...}``: characters other than letters, digits, ``_ . : -`` become ``-``."""
    return _LABEL_UNSAFE.sub("-", str(value))


def stacked_header(value: object, width: int = 12) -> str:
    """A column header, escaped, broken at spaces into lines of about ``width`` characters and set
    with ``\\makecell`` (package makecell), so that long headers such as "ACLED civilian fatalities
    (log)" do not set the width of a column of short numbers. A header that fits stays one line."""
    words = str(value).split()
    lines: list[str] = []
    for w in words:
        if lines and len(lines[-1]) + 1 + len(w) <= width:
            lines[-1] += " " + w
        else:
            lines.append(w)
    if len(lines) <= 1:
        return escape_latex(value)
    return r"\makecell[b]{" + r" \\ ".join(escape_latex(s) for s in lines) + "}"
