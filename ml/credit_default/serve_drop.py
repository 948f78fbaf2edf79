"""Container 1 of the serving inference pipeline: drop the protected attributes.

The endpoint serves a two-container SageMaker inference pipeline (docs/production.md):

1. the SageMaker scikit-learn image (``sagemaker-scikit-learn:1.2-1-cpu-py3``) running this
   module, and
2. the SageMaker XGBoost image serving the trained booster (built-in mode, ``text/csv``).

A request row carries the protected attributes (SEX, AGE, MARRIAGE by default) *and* the
model features, so the endpoint's data capture records the facets the bias-drift monitor
needs. This container removes the protected columns, by position, and forwards the remaining
model features as ``text/csv`` to container 2: the protected attributes never reach the model.

How the scikit-learn container loads it (aws/sagemaker-scikit-learn-container, the
sagemaker-containers / sagemaker-inference serving contract): the model archive
(``ModelDataUrl``) is unpacked to ``/opt/ml/model``; ``SAGEMAKER_SUBMIT_DIRECTORY`` is
``/opt/ml/model/code`` (no download: the endpoint is network-isolated) and
``SAGEMAKER_PROGRAM`` is ``serve_drop.py``. The container imports the module and calls
``model_fn(model_dir)`` once, then ``input_fn`` -> ``predict_fn`` -> ``output_fn`` per
request; a ``(body, content_type)`` tuple from ``output_fn`` sets the response content type,
which an inference pipeline passes to the next container as its request content type.

The archive (``preprocess.py`` writes it as ``serving/model.tar.gz``)::

    code/serve_drop.py        this file (standard library only: no import from the package)
    serving_columns.json      {"request_columns": [...], "drop_positions": [...],
                               "model_features": [...]}

Python 3.9 and the standard library only (the image's Python); tested under the image's
versions (ml/images/sklearn-1.2-1.txt).
"""

from __future__ import annotations

import csv
import io
import json
import os
from typing import Any

CONFIG_FILENAME = "serving_columns.json"
CONTENT_TYPE = "text/csv"


class RequestError(ValueError):
    """A request the pipeline refuses (the container answers it with an error status)."""


def serving_config(protected_attributes: list[str], model_features: list[str]) -> dict[str, Any]:
    """The served layout: the protected attributes first, then the model features."""
    overlap = sorted(set(protected_attributes) & set(model_features))
    if overlap:
        raise ValueError(f"{overlap} are both protected attributes and model features")
    if not model_features:
        raise ValueError("no model feature to forward")
    columns = list(protected_attributes) + list(model_features)
    if len(set(columns)) != len(columns):
        raise ValueError(f"a column is listed twice in {columns}")
    return {
        "request_columns": columns,
        "drop_positions": list(range(len(protected_attributes))),
        "dropped_columns": list(protected_attributes),
        "model_features": list(model_features),
    }


def validate_config(config: dict[str, Any]) -> dict[str, Any]:
    """Check that the drop positions leave exactly the model features, in order."""
    columns = list(config["request_columns"])
    drop = sorted(int(p) for p in config["drop_positions"])
    if len(set(drop)) != len(drop) or any(p < 0 or p >= len(columns) for p in drop):
        raise ValueError(f"drop_positions {drop} do not fit {len(columns)} request columns")
    kept = [c for i, c in enumerate(columns) if i not in set(drop)]
    if kept != list(config["model_features"]):
        raise ValueError(
            f"dropping positions {drop} of {columns} leaves {kept}, not the model features "
            f"{config['model_features']}"
        )
    return {"width": len(columns), "drop": set(drop), "columns": columns}


def drop_columns(payload: str, model: dict[str, Any]) -> str:
    """CSV rows in the request layout -> CSV rows of the model features (no header)."""
    width, drop = model["width"], model["drop"]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    rows = 0
    for number, row in enumerate(csv.reader(io.StringIO(payload)), start=1):
        if not row or all(not v.strip() for v in row):
            continue  # blank line (e.g. a trailing newline)
        if len(row) != width:
            raise RequestError(
                f"row {number} has {len(row)} values; the endpoint expects {width}: "
                f"{', '.join(model['columns'])} (protected attributes first, no header)"
            )
        writer.writerow([v for i, v in enumerate(row) if i not in drop])
        rows += 1
    if not rows:
        raise RequestError("the request has no CSV row")
    return out.getvalue()


# --- the serving contract -------------------------------------------------------------


def model_fn(model_dir: str) -> dict[str, Any]:
    with open(os.path.join(model_dir, CONFIG_FILENAME), encoding="utf-8") as handle:
        return validate_config(json.load(handle))


def input_fn(input_data: Any, content_type: str) -> str:
    if not (content_type or "").split(";")[0].strip().lower() == CONTENT_TYPE:
        raise RequestError(f"content type {content_type!r} is not supported: send text/csv")
    if isinstance(input_data, (bytes, bytearray)):
        return bytes(input_data).decode("utf-8")
    return str(input_data)


def predict_fn(input_data: str, model: dict[str, Any]) -> str:
    return drop_columns(input_data, model)


def output_fn(prediction: str, accept: str) -> tuple[str, str]:
    # Container 2 (XGBoost) reads text/csv, whatever the caller accepts from the pipeline.
    return prediction, CONTENT_TYPE
