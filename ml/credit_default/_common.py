"""Shared helpers for the credit-default reference model steps.

Every step script (``preprocess.py``, ``train.py``, ``evaluate.py``, ``explain.py``,
``bias.py``) imports this module. When the steps run on SageMaker, upload the whole
``ml/credit_default/`` folder as the code (script-mode ``source_dir`` for training, a
``code`` ProcessingInput for processing jobs) so this file sits beside the entry point.

Only long-stable APIs are used (numpy >= 1.21, pandas >= 1.3, xgboost >= 1.7 Booster and
DMatrix), so the code runs unchanged inside the SageMaker XGBoost 1.7-1 and scikit-learn
processing images as well as on the pinned versions in ``ml/requirements.txt``.
"""

from __future__ import annotations

import atexit
import hashlib
import json
import logging
import math
import os
import shutil
import sys
import tarfile
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

# ----------------------------------------------------------------------------- schema
LABEL_COLUMN = "default"

# The UCI "default of credit card clients" data set has no PAY_1: the repayment-status
# columns are PAY_0, PAY_2, ..., PAY_6. The schema keeps that quirk so the real data set
# can be dropped in unchanged (after renaming its label column to ``default``).
PAY_STATUS_COLUMNS = ["PAY_0", "PAY_2", "PAY_3", "PAY_4", "PAY_5", "PAY_6"]
BILL_AMOUNT_COLUMNS = [f"BILL_AMT{i}" for i in range(1, 7)]
PAY_AMOUNT_COLUMNS = [f"PAY_AMT{i}" for i in range(1, 7)]
FEATURE_COLUMNS = (
    ["LIMIT_BAL", "SEX", "EDUCATION", "MARRIAGE", "AGE"]
    + PAY_STATUS_COLUMNS
    + BILL_AMOUNT_COLUMNS
    + PAY_AMOUNT_COLUMNS
)
ALL_COLUMNS = [LABEL_COLUMN] + FEATURE_COLUMNS
# The application id column of the UCI data set; passed through, never a feature.
ID_COLUMN = "ID"
# Protected attributes of the UCI schema: kept out of the model's features by default and
# evaluated as bias facets (AGE in bands, see ``age_band_labels``).
DEFAULT_PROTECTED_ATTRIBUTES = ["SEX", "AGE", "MARRIAGE"]
DEFAULT_AGE_BAND_EDGES = [25, 35, 45, 55, 65]
AGE_BAND_COLUMN = "AGE_BAND"

# Model artefact names. ``xgboost-model`` is the name the SageMaker XGBoost container's
# default model loader looks for; the file holds the Booster in XGBoost's JSON format.
MODEL_FILENAME = "xgboost-model"
MODEL_METADATA_FILENAME = "model_metadata.json"

LOG = logging.getLogger("credit_default")


def configure_logging(level: str = "INFO") -> None:
    """Log to stderr in a CloudWatch-friendly single-line format (idempotent)."""
    root = logging.getLogger()
    if not any(getattr(h, "_credit_default", False) for h in root.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
        handler._credit_default = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    root.setLevel(level)


def age_band_labels(edges: Sequence[float]) -> list[str]:
    """Labels for the bands cut at ``edges``: ``<25``, ``25-34``, ..., ``65+`` (integer ages)."""
    edges = [int(e) for e in edges]
    if not edges or any(b <= a for a, b in zip(edges, edges[1:])):
        raise ValueError(f"age band edges must be increasing integers, got {edges}")
    labels = [f"<{edges[0]}"]
    labels += [f"{a}-{b - 1}" for a, b in zip(edges, edges[1:])]
    labels.append(f"{edges[-1]}+")
    return labels


def age_bands(ages: pd.Series, edges: Sequence[float]) -> pd.Series:
    """The band label of each age (missing age -> missing band)."""
    labels = age_band_labels(edges)
    values = pd.to_numeric(ages, errors="coerce").to_numpy(dtype=float)
    index = np.searchsorted(np.asarray([float(e) for e in edges]), values, side="right")
    out = pd.Series([labels[i] for i in index], index=ages.index, dtype=object)
    out[np.isnan(values)] = None
    return out


# ----------------------------------------------------------------------------- hashing
def sha256_file(path: Path, chunk_size: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(chunk_size), b""):
            digest.update(chunk)
    return digest.hexdigest()


def sha256_files(paths: Sequence[Path]) -> str:
    """SHA-256 of the files' bytes concatenated in the given order.

    For a single file this equals ``sha256sum FILE``.
    """
    digest = hashlib.sha256()
    for path in paths:
        with open(path, "rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest()


def file_sha256_or_none(path: Path) -> str | None:
    try:
        return sha256_file(Path(path))
    except OSError:
        return None


# ----------------------------------------------------------------------------- files
def list_csv_files(path: Path) -> list[Path]:
    """CSV files at ``path``: the file itself, or the ``*.csv`` files directly in a folder
    (sorted by name, so a channel split into several parts is read in a stable order)."""
    path = Path(path)
    if path.is_file():
        return [path]
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() == ".csv")
        if files:
            return files
        raise FileNotFoundError(f"no .csv file in folder {path}")
    raise FileNotFoundError(f"input path does not exist: {path}")


def read_csv_with_header(path: Path) -> pd.DataFrame:
    """Read a headed CSV (a file or every ``*.csv`` in a folder, concatenated)."""
    files = list_csv_files(path)
    frames = [pd.read_csv(p) for p in files]
    if len(frames) > 1:
        first = list(frames[0].columns)
        for p, frame in zip(files[1:], frames[1:]):
            if list(frame.columns) != first:
                raise ValueError(f"CSV parts have different headers: {p}")
    return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]


def read_headerless_csv(path: Path, columns: Sequence[str] | None = None) -> pd.DataFrame:
    """Read a header-less CSV (SageMaker XGBoost layout) from a file or a folder of parts."""
    frames = [pd.read_csv(p, header=None) for p in list_csv_files(path)]
    frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    if columns is not None:
        if len(columns) != frame.shape[1]:
            raise ValueError(
                f"{path} has {frame.shape[1]} columns but {len(columns)} column names were given"
            )
        frame.columns = list(columns)
    return frame


def to_jsonable(value: Any) -> Any:
    """Convert numpy / pandas scalars and containers to plain JSON types; NaN/inf -> None."""
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return [to_jsonable(v) for v in value.tolist()]
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        as_float = float(value)
        return as_float if math.isfinite(as_float) else None
    return value


def write_json(path: Path, payload: Any) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(to_jsonable(payload), indent=2, allow_nan=False)
    path.write_text(text + "\n", encoding="utf-8")
    return path


def read_json(path: Path) -> Any:
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def library_versions() -> dict:
    versions = {
        "python": "{}.{}.{}".format(*sys.version_info[:3]),
        "numpy": np.__version__,
        "pandas": pd.__version__,
    }
    for name in ("sklearn", "xgboost"):
        module = sys.modules.get(name)
        if module is not None:
            versions[name] = getattr(module, "__version__", "unknown")
    return versions


def env_path(variable: str, fallback: str) -> str:
    """Value of a SageMaker environment variable (e.g. ``SM_MODEL_DIR``) or the fallback."""
    value = os.environ.get(variable)
    return value if value else fallback


# ----------------------------------------------------------------------------- model IO
def _safe_extract(archive: tarfile.TarFile, destination: Path) -> None:
    destination = destination.resolve()
    for member in archive.getmembers():
        target = (destination / member.name).resolve()
        if destination != target and destination not in target.parents:
            raise ValueError(f"unsafe path in model archive: {member.name}")
        if member.issym() or member.islnk() or member.isdev():
            raise ValueError(f"links and devices are not allowed in a model archive: {member.name}")
    for member in archive.getmembers():
        if member.isdir():
            (destination / member.name).mkdir(parents=True, exist_ok=True)
        elif member.isfile():
            source = archive.extractfile(member)
            if source is None:
                continue
            out = destination / member.name
            out.parent.mkdir(parents=True, exist_ok=True)
            with source, open(out, "wb") as handle:
                shutil.copyfileobj(source, handle)


def resolve_model_file(model_path: Path) -> tuple[Path, dict | None, str | None]:
    """Find the Booster file under ``model_path``.

    ``model_path`` may be the model file, a folder holding ``xgboost-model`` or a
    ``model.tar.gz`` (what a SageMaker training job writes to S3 and a processing job
    receives), or the ``model.tar.gz`` itself. Returns the model file path, the model
    metadata (if ``model_metadata.json`` is beside it) and the SHA-256 of the archive, if any.
    """
    model_path = Path(model_path)
    archive_sha = None
    if model_path.is_dir():
        direct = model_path / MODEL_FILENAME
        archive = model_path / "model.tar.gz"
        if direct.is_file():
            model_path = direct
        elif archive.is_file():
            model_path = archive
        else:
            raise FileNotFoundError(f"no {MODEL_FILENAME} or model.tar.gz in {model_path}")
    if not model_path.is_file():
        raise FileNotFoundError(f"model not found: {model_path}")
    if model_path.name.endswith(".tar.gz") or model_path.name.endswith(".tgz"):
        archive_sha = sha256_file(model_path)
        extract_to = Path(tempfile.mkdtemp(prefix="credit-default-model-"))
        atexit.register(shutil.rmtree, str(extract_to), True)
        with tarfile.open(model_path, "r:gz") as archive:
            _safe_extract(archive, extract_to)
        candidates = sorted(extract_to.rglob(MODEL_FILENAME))
        if not candidates:
            raise FileNotFoundError(f"{MODEL_FILENAME} not found inside {model_path}")
        model_path = candidates[0]
    metadata_path = model_path.parent / MODEL_METADATA_FILENAME
    metadata = read_json(metadata_path) if metadata_path.is_file() else None
    return model_path, metadata, archive_sha


def load_booster(model_path: Path):
    """Load an XGBoost Booster (JSON, UBJSON or legacy binary) from a file, folder or tarball.

    Returns ``(booster, info)`` where ``info`` records the file, its SHA-256 and metadata.
    """
    import xgboost as xgb  # imported lazily: the bias step does not need XGBoost

    model_file, metadata, archive_sha = resolve_model_file(Path(model_path))
    raw = model_file.read_bytes()
    booster = xgb.Booster()
    booster.load_model(bytearray(raw))  # from a buffer: the format is detected from the bytes
    info = {
        "model_file": str(model_file),
        "model_sha256": hashlib.sha256(raw).hexdigest(),
        "archive_sha256": archive_sha,
        "xgboost_version": xgb.__version__,
        "num_features": int(booster.num_features()),
        "feature_names": list(booster.feature_names) if booster.feature_names else None,
        "metadata": metadata,
    }
    return booster, info


def model_feature_columns(frame: pd.DataFrame, label_column: str, booster) -> list[str]:
    """The model's input columns in a headed data set.

    Layout contract (written by ``preprocess.py``): the label first, then the model's
    features in training order, then optional pass-through columns that are not features.
    When the Booster carries feature names they must match the header exactly.
    """
    columns = list(frame.columns)
    if label_column not in columns:
        raise ValueError(f"label column {label_column!r} not in data columns {columns[:5]}")
    if columns[0] != label_column:
        raise ValueError(
            f"the label column {label_column!r} must be the first column, got {columns[0]!r}"
        )
    n_features = int(booster.num_features())
    if len(columns) - 1 < n_features:
        raise ValueError(
            f"model expects {int(n_features)} features but data has only {len(columns) - 1} "
            "columns after the label"
        )
    features = columns[1 : 1 + n_features]
    names = booster.feature_names
    if names and list(names) != features:
        raise ValueError(
            f"data columns {features} do not match the model's feature names {list(names)}"
        )
    return features


def make_dmatrix(
    frame: pd.DataFrame, feature_columns: Sequence[str], booster, label: Iterable | None = None
):
    """A DMatrix over ``feature_columns`` (as float32, in order), named only if the model is."""
    import xgboost as xgb

    values = frame.loc[:, list(feature_columns)].to_numpy(dtype=np.float32)
    names = list(feature_columns) if booster is not None and booster.feature_names else None
    return xgb.DMatrix(
        values,
        label=None if label is None else np.asarray(label),
        feature_names=names,
        missing=np.nan,
    )
