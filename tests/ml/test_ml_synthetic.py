from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from credit_default import _common as common
from credit_default import synthetic


def test_schema_and_label():
    frame = synthetic.generate(500, seed=1)
    assert list(frame.columns) == [common.ID_COLUMN] + common.ALL_COLUMNS
    assert frame[common.ID_COLUMN].is_unique  # the application id the explanations carry
    assert "PAY_1" not in frame.columns  # the UCI quirk is kept
    assert set(frame["default"].unique()) == {0, 1}
    assert set(frame["SEX"].unique()) <= {1, 2}
    assert frame["PAY_0"].between(-2, 8).all()
    assert not frame.isna().any().any()


def test_seeded():
    pd.testing.assert_frame_equal(synthetic.generate(300, seed=5), synthetic.generate(300, seed=5))
    assert not synthetic.generate(300, seed=5).equals(synthetic.generate(300, seed=6))


def test_label_is_learnable_from_features():
    frame = synthetic.generate(3000, seed=2)
    # A single feature already separates the classes well above chance.
    assert roc_auc_score(frame["default"], frame["PAY_0"]) > 0.7
    assert 0.1 < frame["default"].mean() < 0.35


def test_facet_effect_shifts_the_facet_group_default_rate():
    neutral = synthetic.generate(4000, seed=3, facet_effect=0.0)
    biased = synthetic.generate(4000, seed=3, facet_effect=1.5)
    gap_neutral = neutral.groupby("SEX")["default"].mean().diff().iloc[-1]
    gap_biased = biased.groupby("SEX")["default"].mean().diff().iloc[-1]
    assert abs(gap_neutral) < 0.05
    assert gap_biased > 0.15
    # Only the label changes: the features are drawn identically.
    pd.testing.assert_frame_equal(neutral.drop(columns="default"), biased.drop(columns="default"))
    # A configurable facet column.
    married = synthetic.generate(4000, seed=3, facet_column="MARRIAGE", facet_value=1, facet_effect=1.5)
    assert married.groupby("MARRIAGE")["default"].mean()[1] > neutral.groupby("MARRIAGE")["default"].mean()[1] + 0.15


def test_dirty_fraction_injects_quality_problems():
    frame = synthetic.generate(1000, seed=4, dirty_fraction=0.03)
    assert len(frame) == 1030
    assert frame.duplicated().sum() == 30
    assert frame["AGE"].isna().sum() > 0 and (frame["AGE"] > 100).sum() > 0
    assert frame["EDUCATION"].isin([0, 5, 6]).sum() > 0
    assert (frame["MARRIAGE"] == 0).sum() > 0


def test_rejects_bad_arguments():
    with pytest.raises(ValueError):
        synthetic.generate(100, facet_column="NOPE")
    with pytest.raises(ValueError):
        synthetic.generate(5)


def test_cli_writes_csv(tmp_path):
    out = synthetic.main(["--rows", "120", "--seed", "9", "--output", str(tmp_path / "d" / "x.csv")])
    frame = pd.read_csv(out)
    assert len(frame) == 120
    pd.testing.assert_frame_equal(frame, synthetic.generate(120, seed=9), check_dtype=False)
