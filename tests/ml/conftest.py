"""Shared fixtures for the credit-default model tests.

``ml/`` is put on ``sys.path`` so the steps import as the ``credit_default`` package. The
data is small synthetic data generated here (no download, no AWS); the expensive pieces
(preprocessing, one trained model) are built once per session.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ML_ROOT = Path(__file__).resolve().parents[2] / "ml"
if str(ML_ROOT) not in sys.path:
    sys.path.insert(0, str(ML_ROOT))

from credit_default import preprocess, synthetic, train  # noqa: E402

ROWS = 2000
SEED = 11
FAST_HYPERPARAMETERS = {"num_round": 30, "max_depth": 3, "eta": 0.2, "subsample": 0.8, "colsample_bytree": 0.8, "verbosity": 0}


@pytest.fixture(scope="session")
def fast_hyperparameters():
    """Small, quick hyperparameters for tests that train their own models."""
    return dict(FAST_HYPERPARAMETERS)


@pytest.fixture(scope="session")
def ml_root() -> Path:
    return ML_ROOT


@pytest.fixture(scope="session")
def raw_frame():
    """Synthetic data with injected quality problems."""
    return synthetic.generate(ROWS, seed=SEED, dirty_fraction=0.02)


@pytest.fixture(scope="session")
def raw_csv(raw_frame, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("raw") / "credit.csv"
    raw_frame.to_csv(path, index=False)
    return path


@pytest.fixture(scope="session")
def preprocessed(raw_csv, tmp_path_factory):
    out = tmp_path_factory.mktemp("processing")
    params = preprocess.run(raw_csv, out, seed=SEED)
    return {"dir": out, "params": params}


@pytest.fixture(scope="session")
def model_dir(preprocessed, tmp_path_factory) -> Path:
    """The model folder (``xgboost-model`` only); the metadata is in ``../output-data``."""
    pytest.importorskip("xgboost", reason="this image (scikit-learn processing) has no xgboost")
    out = tmp_path_factory.mktemp("training-job")
    processing = preprocessed["dir"]
    train.run(
        processing / "train",
        out / "model",
        validation_path=processing / "validation",
        hyperparameters=dict(FAST_HYPERPARAMETERS, seed=SEED),
        output_data_dir=out / "output-data",
    )
    return out / "model"


@pytest.fixture(scope="session")
def model_features(preprocessed):
    """The model's features: the UCI features minus the protected attributes."""
    return list(preprocessed["params"]["parameters"]["feature_columns"])


@pytest.fixture(scope="session")
def test_csv(preprocessed) -> Path:
    return preprocessed["dir"] / "test" / "test.csv"
