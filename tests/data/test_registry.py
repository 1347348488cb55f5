"""Source registry: checksums, missing files and the raw-directory rule."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from sahel_causal.data import registry
from sahel_causal.errors import ChecksumError, RawDataError
from sahel_causal.paths import RAW_DIR_ENV, find_raw_dir, require_raw_dir


def test_registry_is_well_formed():
    reg = registry.registry()
    assert {"powell_thyne", "fmtr", "ucdp_orgviol", "acled", "usaid_explorer", "us_cpi"} <= set(reg)
    for src in reg.values():
        assert src.citation and src.licence and src.files
        for f in src.files:
            assert len(f.sha256) == 64
            assert f.url is None or f.url.startswith("https://")


def test_raw_dir_resolution_order(tmp_path, monkeypatch):
    (tmp_path / "cli").mkdir()
    (tmp_path / "env").mkdir()
    monkeypatch.setenv(RAW_DIR_ENV, str(tmp_path / "env"))
    assert find_raw_dir(tmp_path / "cli") == (tmp_path / "cli").resolve()
    assert find_raw_dir() == (tmp_path / "env").resolve()
    # A configured directory that does not exist is an error, never a fallback (issue 13 item 5);
    # `data fetch` (create=True) may download into a new one.
    monkeypatch.setenv(RAW_DIR_ENV, str(tmp_path / "nowhere"))
    with pytest.raises(RawDataError, match="does not exist"):
        require_raw_dir()
    with pytest.raises(RawDataError, match="--raw-dir"):
        find_raw_dir(tmp_path / "missing")
    assert find_raw_dir(tmp_path / "missing", create=True) == (tmp_path / "missing").resolve()


def _mirror(raw_dir: Path, tmp_path: Path, rel: str) -> Path:
    target = tmp_path / rel
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(raw_dir / rel, target)
    return target


def test_missing_file_names_file_and_where_to_get_it(tmp_path):
    with pytest.raises(RawDataError) as exc:
        registry.resolve("powell_thyne", "powell_thyne_coups_final.txt", tmp_path)
    msg = str(exc.value)
    assert "powell_thyne/powell_thyne_coups_final.txt" in msg and "sahel-causal data fetch" in msg


def test_changed_file_fails_with_both_checksums(raw_dir, tmp_path):
    rel = "powell_thyne/powell_thyne_coups_final.txt"
    copy = _mirror(raw_dir, tmp_path, rel)
    copy.write_bytes(copy.read_bytes().replace(b"2023", b"2024", 1))
    with pytest.raises(ChecksumError) as exc:
        registry.resolve("powell_thyne", "powell_thyne_coups_final.txt", tmp_path)
    msg = str(exc.value)
    want = registry.registry()["powell_thyne"].files[0].sha256
    assert want in msg and registry.sha256_file(copy) in msg and rel in msg


def test_every_registered_file_verifies(raw_dir):
    rows = registry.verify_all(raw_dir)
    bad = [r for r in rows if r[2] != "ok"]
    assert not bad, bad
