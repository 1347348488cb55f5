"""LICENSE and CITATION.cff agree with pyproject.toml (licence and version)."""
from __future__ import annotations

import tomllib

import yaml

from sahel_causal import __version__
from sahel_causal.paths import PROJECT_ROOT


def test_license_is_the_mit_text_that_pyproject_declares() -> None:
    pyproject = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert pyproject["project"]["license"] == "MIT"
    text = (PROJECT_ROOT / "LICENSE").read_text(encoding="utf-8")
    assert text.startswith("MIT License") and "THE SOFTWARE IS PROVIDED \"AS IS\"" in text


def test_citation_file_is_valid_and_current() -> None:
    cff = yaml.safe_load((PROJECT_ROOT / "CITATION.cff").read_text(encoding="utf-8"))
    pyproject = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert cff["cff-version"] == "1.2.0" and cff["license"] == "MIT"
    assert cff["version"] == pyproject["project"]["version"] == __version__
    for key in ("title", "message", "authors"):
        assert cff[key]
    for ref in cff.get("references", []):
        assert ref["title"] and ref["authors"] and ref["year"]
