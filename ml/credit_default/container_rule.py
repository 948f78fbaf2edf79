"""What the SageMaker XGBoost 1.7-1 container does with ``model.tar.gz`` in built-in serving.

This module restates, for tests and the local rehearsal, the loading and prediction rule of
AWS's container (aws/sagemaker-xgboost-container, ``algorithm_mode/serve_utils.py`` and
``encoder.py`` as of the 1.7-1 image), so a model archive can be checked without Docker:

* ``_get_full_model_paths``: every regular file directly in the model folder whose name
  does not start with ``.`` is a model file (dot-files are skipped with a warning);
* ``get_loaded_booster``: with ensemble mode on (``SAGEMAKER_INFERENCE_ENSEMBLE``, default
  ``"true"``) EVERY such file is loaded, otherwise only the first one ``os.listdir``
  returns; each file is tried as a pickle, then with ``xgb.Booster().load_model(path)``;
  a file that loads neither way raises ``RuntimeError`` and the endpoint's ``/ping`` fails;
* ``encoder.csv_to_dmatrix``: a ``text/csv`` request (features only, no header, no label)
  becomes a DMatrix without feature names;
* ``predict``: ``booster.predict(dtest, ntree_limit=best_ntree_limit or 0,
  validate_features=False)``; several boosters are averaged (binary:logistic).

The serving endpoint is a two-container inference pipeline: the scikit-learn 1.2-1 container
runs ``serve_drop.py`` (it drops the protected attributes) before the XGBoost container.
:func:`serve_sklearn_archive` restates how that container loads a user module
(aws/sagemaker-scikit-learn-container, ``serving.py`` and the sagemaker-containers serving
environment): the archive is unpacked to the model folder, the module named by
``SAGEMAKER_PROGRAM`` is imported from ``SAGEMAKER_SUBMIT_DIRECTORY`` (``<model>/code``),
``model_fn(model_dir)`` runs once and ``input_fn`` -> ``predict_fn`` -> ``output_fn`` per
request; a ``(body, content_type)`` result sets the response content type, which the
pipeline passes on as the next container's request content type. :func:`serve_pipeline`
chains both containers.

No pickle is ever loaded here (the platform stores models as XGBoost JSON): a file that is
not an XGBoost model fails as it would in the container.
"""

from __future__ import annotations

import csv
import importlib.util
import inspect
import os
import tarfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

try:
    from . import _common as common
except ImportError:  # run as a script beside _common.py
    import _common as common  # type: ignore[no-redef]


class ContainerLoadError(RuntimeError):
    """A file in the model folder is not a booster: the container's /ping would fail."""


def model_files(model_dir: Path) -> list[Path]:
    """The files the container treats as models: non-dot regular files, in listdir order."""
    model_dir = Path(model_dir)
    return [
        model_dir / name
        for name in os.listdir(model_dir)
        if (model_dir / name).is_file() and not name.startswith(".")
    ]


def load_like_container(model_dir: Path, ensemble: bool = True):
    """Load every model file as the container does; raise :class:`ContainerLoadError`."""
    import xgboost as xgb

    paths = model_files(model_dir)
    if not paths:
        raise ContainerLoadError(f"no model file in {model_dir}")
    boosters = []
    for path in paths if ensemble else paths[:1]:
        booster = xgb.Booster()
        try:
            booster.load_model(str(path))
        except Exception as error:  # the container wraps any failure the same way
            raise ContainerLoadError(f"Model {path} cannot be loaded: {error}") from None
        booster.set_param("nthread", 1)
        boosters.append(booster)
    return boosters


def extract_archive(archive: Path, destination: Path) -> Path:
    """Unpack ``model.tar.gz`` (member paths checked) into ``destination``."""
    destination = Path(destination)
    destination.mkdir(parents=True, exist_ok=True)
    with tarfile.open(archive, "r:gz") as tar:
        common._safe_extract(tar, destination)
    return destination


def csv_to_dmatrix(payload: str):
    """A ``text/csv`` request body as the container parses it (float values, no names)."""
    import xgboost as xgb

    text = payload.strip("\n")
    delimiter = csv.Sniffer().sniff(text.split("\n")[0][:512]).delimiter
    delimiter = "," if delimiter.isalnum() else delimiter
    rows = [
        [float(v) if v.strip() != "" else np.nan for v in line.split(delimiter)]
        for line in text.split("\n")
    ]
    return xgb.DMatrix(np.array(rows, dtype=float))


def predict_like_container(boosters: Sequence, payload: str) -> np.ndarray:
    """Scores for a CSV payload: the mean over the loaded boosters, as the container returns."""
    dtest = csv_to_dmatrix(payload)
    scores = []
    for booster in boosters:
        if "ntree_limit" in inspect.signature(booster.predict).parameters:  # xgboost < 2
            scores.append(
                booster.predict(
                    dtest,
                    ntree_limit=getattr(booster, "best_ntree_limit", 0),
                    validate_features=False,
                )
            )
        else:
            scores.append(booster.predict(dtest, validate_features=False))
    return np.mean(scores, axis=0)


def serve_archive(archive: Path, work_dir: Path, payload: str) -> tuple[list[str], np.ndarray]:
    """Unpack, load every model file, predict: ``(loaded file names, scores)``."""
    folder = extract_archive(Path(archive), Path(work_dir))
    boosters = load_like_container(folder)
    return sorted(p.name for p in model_files(folder)), predict_like_container(boosters, payload)


def serve_sklearn_archive(
    archive: Path,
    model_dir: Path,
    payload: str,
    content_type: str = "text/csv",
    accept: str = "text/csv",
    program: str = "serve_drop.py",
) -> tuple[str, str]:
    """Container 1: unpack, import ``code/<program>`` as the container does, run the serving
    functions on one request; returns ``(body, content type)``."""
    folder = extract_archive(Path(archive), Path(model_dir))
    code_dir = folder / "code"  # SAGEMAKER_SUBMIT_DIRECTORY=/opt/ml/model/code
    path = code_dir / program
    if not path.is_file():
        raise ContainerLoadError(f"SAGEMAKER_PROGRAM {program} is not in {code_dir}")
    spec = importlib.util.spec_from_file_location(program[: -len(".py")], path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    if not hasattr(module, "model_fn"):  # the scikit-learn container has no default model_fn
        raise ContainerLoadError(f"{program} defines no model_fn")
    model = module.model_fn(str(folder))
    result = module.output_fn(
        module.predict_fn(module.input_fn(payload.encode("utf-8"), content_type), model), accept
    )
    if isinstance(result, tuple):
        return str(result[0]), str(result[1])
    return str(result), accept


def serve_pipeline(
    sklearn_archive: Path, xgboost_archive: Path, work_dir: Path, payload: str
) -> dict:
    """The inference pipeline: container 1's response is container 2's request."""
    work_dir = Path(work_dir)
    forwarded, content_type = serve_sklearn_archive(
        sklearn_archive, work_dir / "container-1", payload
    )
    if content_type.split(";")[0].strip() != "text/csv":
        raise ContainerLoadError(
            f"container 1 answers {content_type}; the XGBoost container reads text/csv"
        )
    loaded, scores = serve_archive(xgboost_archive, work_dir / "container-2", forwarded)
    return {"forwarded": forwarded, "loaded_files": loaded, "scores": scores}
