"""Shipped weight files: the same arrays give the same bytes, and a changed file is named."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from models.store import hash_file
from models.weights import weights_problem, write_npz


def test_the_same_arrays_give_the_same_bytes_and_load_back(tmp_path: Path) -> None:
    arrays = {"coef": np.arange(6, dtype=np.float64).reshape(2, 3), "labels": np.array(["a", "b"])}
    write_npz(tmp_path / "one.npz", arrays)
    write_npz(tmp_path / "two.npz", arrays)
    assert hash_file(tmp_path / "one.npz") == hash_file(tmp_path / "two.npz")
    with np.load(tmp_path / "one.npz", allow_pickle=False) as loaded:
        assert np.array_equal(loaded["coef"], arrays["coef"])
        assert loaded["labels"].tolist() == ["a", "b"]


def test_a_missing_or_changed_file_is_a_problem_and_a_matching_one_is_not(tmp_path: Path) -> None:
    path = tmp_path / "w.npz"
    assert weights_problem(path, "0" * 64) == f"{path} is missing"
    write_npz(path, {"x": np.zeros(3)})
    assert weights_problem(path, hash_file(path)) == ""
    assert "damaged or replaced" in weights_problem(path, "0" * 64)
