"""Train the credit-default XGBoost model (SageMaker XGBoost script-mode entry point).

Runs in the SageMaker XGBoost 1.7-1 framework container in script mode
(``entry_point="train.py"``, ``source_dir="ml/credit_default"``), or locally.

Reads
    ``--train`` (``SM_CHANNEL_TRAIN``, default ``/opt/ml/input/data/train``) and
    ``--validation`` (``SM_CHANNEL_VALIDATION``, default ``/opt/ml/input/data/validation``;
    optional): header-less CSV, label first (what ``preprocess.py`` writes). A channel may be
    a file or a folder of ``*.csv`` parts.
    Hyperparameters, lowest to highest precedence: the defaults below;
    ``--hyperparameters-file`` (default ``/opt/ml/input/config/hyperparameters.json``, read
    when present; SageMaker writes every value there as a string, script mode JSON-encodes
    them, e.g. ``"\\"binary:logistic\\""``; keys starting with ``sagemaker_`` or ``_`` are
    SageMaker's own and ignored); then the ``--<name> <value>`` command-line arguments that
    SageMaker script mode passes (or a dict given to :func:`run`). Unknown names are
    rejected, so a typo cannot silently train a different model.

Writes
    ``--model-dir`` (``SM_MODEL_DIR``, default ``/opt/ml/model``; SageMaker tars it to
    ``model.tar.gz``): ONLY ``xgboost-model``, the Booster in XGBoost JSON format. The
    XGBoost container in built-in serving mode loads every non-dot file of the model
    folder as a booster (``serve_utils._get_full_model_paths`` in
    aws/sagemaker-xgboost-container), so any other file there breaks ``/ping``.
    ``--output-data-dir`` (``SM_OUTPUT_DATA_DIR``, default ``/opt/ml/output/data``; the
    training job's ``output.tar.gz``): ``model_metadata.json`` -- resolved
    hyperparameters, XGBoost version, rounds, best iteration, train/validation AUC at the
    best iteration, data SHA-256s.

Early stopping: with a validation channel, training stops when the validation metric has
not improved for ``early_stopping_rounds`` rounds (default 20; 0 disables) and keeps the
best iteration.

Determinism: the ``seed`` hyperparameter (default 42) seeds XGBoost's row/column
sampling, ``tree_method`` defaults to ``hist`` (the same algorithm in XGBoost 1.7 and 3.x)
and ``nthread`` is pinned (default 1 when not given) whenever a seed is set, so the same
data, hyperparameters and seed give a bit-identical model.

Serving: ``model_fn`` below is what the XGBoost container's script-mode inference handler
needs to load ``xgboost-model`` (deploy with ``entry_point="train.py"``).

Per-round metrics are logged as ``[i]\\ttrain-auc:0.8\\tvalidation-auc:0.78``, which the
SageMaker metric definition regex ``validation-auc:([0-9.]+)`` picks up.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

try:
    from . import _common as common
except ImportError:  # run as a script beside _common.py
    import _common as common  # type: ignore[no-redef]

# name -> (type, default). ``None`` means "not set" (XGBoost's own default applies).
BOOSTER_HYPERPARAMETERS: dict[str, tuple[type, Any]] = {
    "objective": (str, "binary:logistic"),
    "eval_metric": (str, "auc"),
    "eta": (float, 0.1),
    "max_depth": (int, 5),
    "min_child_weight": (float, 1.0),
    "gamma": (float, 0.0),
    "subsample": (float, 0.8),
    "colsample_bytree": (float, 0.8),
    "colsample_bylevel": (float, None),
    "lambda": (float, 1.0),
    "alpha": (float, 0.0),
    "scale_pos_weight": (float, 1.0),
    "max_delta_step": (float, None),
    "max_bin": (int, None),
    "tree_method": (str, "hist"),
    "base_score": (float, None),
    "seed": (int, 42),
    "nthread": (int, None),
    "verbosity": (int, 1),
}
# Hyperparameters that control training but are not Booster parameters.
CONTROL_HYPERPARAMETERS: dict[str, tuple[type, Any]] = {
    "num_round": (int, 100),
    "early_stopping_rounds": (int, None),
    "feature_names": (str, None),  # comma-separated; stored in the model and checked later
}
ALL_HYPERPARAMETERS = dict(BOOSTER_HYPERPARAMETERS, **CONTROL_HYPERPARAMETERS)
ALIASES = {
    "learning_rate": "eta",
    "reg_lambda": "lambda",
    "reg_alpha": "alpha",
    "random_state": "seed",
    "n_jobs": "nthread",
}
DEFAULT_HYPERPARAMETERS_FILE = "/opt/ml/input/config/hyperparameters.json"
# Applied when a validation channel is given and early_stopping_rounds is not set (0 = off).
DEFAULT_EARLY_STOPPING_ROUNDS = 20


def _decode(value: Any) -> Any:
    """Undo SageMaker's string encoding: ``"5"`` -> 5, ``"\\"hist\\""`` -> ``"hist"``."""
    if isinstance(value, str):
        text = value.strip()
        try:
            return json.loads(text)
        except ValueError:
            return text
    return value


def _coerce(name: str, value: Any) -> Any:
    kind, _ = ALL_HYPERPARAMETERS[name]
    value = _decode(value)
    if value is None or (isinstance(value, str) and value.lower() in ("", "none", "null")):
        return None
    try:
        if kind is int:
            if isinstance(value, bool):
                raise ValueError
            as_float = float(value)
            if not as_float.is_integer():
                raise ValueError
            return int(as_float)
        if kind is float:
            if isinstance(value, bool):
                raise ValueError
            return float(value)
        return str(value)
    except (TypeError, ValueError):
        raise ValueError(
            f"hyperparameter {name!r}: cannot read {value!r} as {kind.__name__}"
        ) from None


def normalise_hyperparameters(raw: Mapping[str, Any] | None) -> dict[str, Any]:
    """Validate and type a mapping of hyperparameters (strings allowed)."""
    result: dict[str, Any] = {}
    unknown = []
    for key, value in (raw or {}).items():
        name = str(key).strip().replace("-", "_")
        if name.startswith("sagemaker_") or name.startswith("_"):
            continue  # SageMaker's own keys (program, submit dir, region, tuning metric...)
        name = ALIASES.get(name, name)
        if name not in ALL_HYPERPARAMETERS:
            unknown.append(str(key))
            continue
        result[name] = _coerce(name, value)
    if unknown:
        raise ValueError(
            f"unknown hyperparameter(s) {sorted(unknown)}; allowed: {sorted(ALL_HYPERPARAMETERS)}"
        )
    return result


def resolve_hyperparameters(
    overrides: Mapping[str, Any] | None = None, hyperparameters_file: Path | None = None
) -> dict[str, Any]:
    """Defaults < hyperparameters.json (if it exists) < overrides. Validates ranges."""
    resolved = {name: default for name, (_, default) in ALL_HYPERPARAMETERS.items()}
    if hyperparameters_file is not None and Path(hyperparameters_file).is_file():
        resolved.update(normalise_hyperparameters(common.read_json(hyperparameters_file)))
    resolved.update(normalise_hyperparameters(overrides))
    for name in ("num_round", "objective", "eval_metric", "tree_method"):
        if resolved.get(name) is None:
            resolved[name] = ALL_HYPERPARAMETERS[name][1]
    if resolved["num_round"] < 1:
        raise ValueError("num_round must be >= 1")
    if resolved["max_depth"] is not None and resolved["max_depth"] < 0:
        raise ValueError("max_depth must be >= 0")
    for name in ("subsample", "colsample_bytree", "colsample_bylevel"):
        if resolved.get(name) is not None and not 0.0 < resolved[name] <= 1.0:
            raise ValueError(f"{name} must be in (0, 1]")
    if resolved.get("eta") is not None and resolved["eta"] <= 0:
        raise ValueError("eta must be > 0")
    if resolved["seed"] is not None and resolved["nthread"] is None:
        resolved["nthread"] = 1  # a fixed thread count: reproducible floating-point sums
    return resolved


def booster_params(hyperparameters: Mapping[str, Any]) -> dict[str, Any]:
    return {
        k: v for k, v in hyperparameters.items() if k in BOOSTER_HYPERPARAMETERS and v is not None
    }


def load_channel(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Read a header-less CSV channel: returns (features float32, labels)."""
    frame = common.read_headerless_csv(Path(path))
    if frame.shape[1] < 2:
        raise ValueError(f"{path} needs a label column and at least one feature")
    labels = frame.iloc[:, 0].to_numpy()
    if not np.isin(labels, [0, 1]).all():
        raise ValueError(f"{path}: the first column must be the 0/1 label")
    return frame.iloc[:, 1:].to_numpy(dtype=np.float32), labels.astype(np.float32)


def train_model(
    X_train: np.ndarray,
    y_train: np.ndarray,
    hyperparameters: Mapping[str, Any],
    X_validation: np.ndarray | None = None,
    y_validation: np.ndarray | None = None,
):
    """Train a Booster. Returns ``(booster, info)``; ``info`` has rounds and final metrics."""
    import xgboost as xgb

    names = None
    if hyperparameters.get("feature_names"):
        names = [n.strip() for n in str(hyperparameters["feature_names"]).split(",")]
        if len(names) != X_train.shape[1]:
            raise ValueError(
                f"feature_names has {len(names)} names but the data has {X_train.shape[1]} features"
            )
    dtrain = xgb.DMatrix(X_train, label=y_train, feature_names=names, missing=np.nan)
    evals = [(dtrain, "train")]
    if X_validation is not None:
        if X_validation.shape[1] != X_train.shape[1]:
            raise ValueError(
                f"validation has {X_validation.shape[1]} features, train has {X_train.shape[1]}"
            )
        evals.append(
            (
                xgb.DMatrix(X_validation, label=y_validation, feature_names=names, missing=np.nan),
                "validation",
            )
        )
    early = hyperparameters.get("early_stopping_rounds")
    if early == 0:
        early = None
    if early is not None and X_validation is None:
        raise ValueError("early_stopping_rounds needs a validation channel")
    history: dict[str, dict[str, list]] = {}
    booster = xgb.train(
        booster_params(hyperparameters),
        dtrain,
        num_boost_round=int(hyperparameters["num_round"]),
        evals=evals,
        evals_result=history,
        early_stopping_rounds=early,
        verbose_eval=True,
    )
    best_iteration = None
    if early is not None:
        best_iteration = int(booster.best_iteration)
        booster = booster[: best_iteration + 1]  # keep the best model, not the last rounds
    rounds = int(booster.num_boosted_rounds())
    final = {}
    for data_name, metrics in history.items():
        for metric_name, values in metrics.items():
            final[f"{data_name}-{metric_name}"] = float(values[rounds - 1])
    info = {
        "num_round_requested": int(hyperparameters["num_round"]),
        "num_boosted_rounds": rounds,
        "best_iteration": best_iteration,
        "final_metrics": final,
        "train_rows": int(X_train.shape[0]),
        "validation_rows": None if X_validation is None else int(X_validation.shape[0]),
        "num_features": int(X_train.shape[1]),
        "feature_names": names,
    }
    return booster, info


def save_model(
    booster, model_dir: Path, metadata: Mapping[str, Any], output_data_dir: Path | None = None
) -> Path:
    """Write ``xgboost-model`` (XGBoost JSON) alone to ``model_dir``; the metadata goes to
    ``output_data_dir`` (never beside the model: the serving container would try to load it)."""
    model_dir = Path(model_dir)
    model_dir.mkdir(parents=True, exist_ok=True)
    path = model_dir / common.MODEL_FILENAME
    path.write_bytes(bytes(booster.save_raw(raw_format="json")))
    if output_data_dir is not None:
        if Path(output_data_dir).resolve() == model_dir.resolve():
            raise ValueError(
                "--output-data-dir must not be the model folder: the serving container loads "
                "every file there"
            )
        common.write_json(
            Path(output_data_dir) / common.MODEL_METADATA_FILENAME,
            dict(metadata, model_sha256=common.sha256_file(path)),
        )
    return path


def run(
    train_path: Path,
    model_dir: Path,
    validation_path: Path | None = None,
    hyperparameters: Mapping[str, Any] | None = None,
    hyperparameters_file: Path | None = None,
    output_data_dir: Path | None = None,
):
    """Train from channel paths and save the model. Returns ``(booster, metadata)``.

    ``model_metadata.json`` is written to ``output_data_dir`` when given."""
    import xgboost as xgb

    resolved = resolve_hyperparameters(hyperparameters, hyperparameters_file)
    X_train, y_train = load_channel(Path(train_path))
    X_val = y_val = None
    validation_files = None
    if validation_path is not None and Path(validation_path).exists():
        X_val, y_val = load_channel(Path(validation_path))
        validation_files = common.list_csv_files(Path(validation_path))
        if resolved.get("early_stopping_rounds") is None:
            resolved["early_stopping_rounds"] = DEFAULT_EARLY_STOPPING_ROUNDS
    common.LOG.info("training with %s", json.dumps(resolved, sort_keys=True))
    booster, info = train_model(X_train, y_train, resolved, X_val, y_val)
    metadata = {
        "schema_version": "1.0",
        "step": "train",
        "format": "xgboost-json",
        "model_file": common.MODEL_FILENAME,
        "xgboost_version": xgb.__version__,
        "hyperparameters": resolved,
        "booster_params": booster_params(resolved),
        "train_sha256": common.sha256_files(common.list_csv_files(Path(train_path))),
        "validation_sha256": common.sha256_files(validation_files) if validation_files else None,
        "environment": common.library_versions(),
    }
    metadata.update(info)
    metric = str(resolved.get("eval_metric") or "")
    metadata[f"train_{metric}"] = info["final_metrics"].get(f"train-{metric}")
    metadata[f"validation_{metric}"] = info["final_metrics"].get(f"validation-{metric}")
    path = save_model(booster, Path(model_dir), metadata, output_data_dir)
    metadata["model_sha256"] = common.sha256_file(path)
    return booster, metadata


def model_fn(model_dir: str):
    """Model loader for SageMaker XGBoost script-mode serving (the container has no default).

    The container's default ``predict_fn`` then calls ``booster.predict`` on the request
    DMatrix (CSV without label, features in training order) and returns P(default).
    """
    booster, _ = common.load_booster(Path(model_dir))
    return booster


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description="Train the credit-default XGBoost model.")
    parser.add_argument(
        "--train", default=common.env_path("SM_CHANNEL_TRAIN", "/opt/ml/input/data/train")
    )
    parser.add_argument(
        "--validation",
        default=common.env_path("SM_CHANNEL_VALIDATION", "/opt/ml/input/data/validation"),
    )
    parser.add_argument(
        "--model-dir",
        "--model_dir",
        dest="model_dir",
        default=common.env_path("SM_MODEL_DIR", "/opt/ml/model"),
    )
    parser.add_argument(
        "--output-data-dir",
        "--output_data_dir",
        dest="output_data_dir",
        default=common.env_path("SM_OUTPUT_DATA_DIR", "/opt/ml/output/data"),
        help="where model_metadata.json goes (not the model folder)",
    )
    parser.add_argument("--hyperparameters-file", default=DEFAULT_HYPERPARAMETERS_FILE)
    parser.add_argument("--log-level", default="INFO")
    for name in sorted(ALL_HYPERPARAMETERS):
        flags = [f"--{name}"] + (["--{}".format(name.replace("_", "-"))] if "_" in name else [])
        parser.add_argument(
            *flags,
            dest="hp_" + name,
            default=None,
            metavar="VALUE",
            help=f"hyperparameter {name}",
        )
    for alias, target in ALIASES.items():
        parser.add_argument(
            f"--{alias}",
            dest="hp_" + target,
            default=None,
            metavar="VALUE",
            help=argparse.SUPPRESS,
        )
    return parser


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Parse arguments; ``--sagemaker_*`` / ``--_*`` pairs (SageMaker's own, e.g. the
    tuner's ``_tuning_objective_metric``) are skipped, anything else unknown is an error."""
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    rejected = []
    i = 0
    while i < len(unknown):
        token = unknown[i]
        name = token[2:].split("=", 1)[0] if token.startswith("--") else None
        if name is not None and (name.startswith("sagemaker_") or name.startswith("_")):
            has_value = (
                "=" not in token and i + 1 < len(unknown) and not unknown[i + 1].startswith("--")
            )
            i += 2 if has_value else 1
            continue
        rejected.append(token)
        i += 1
    if rejected:
        parser.error("unrecognized arguments: {}".format(" ".join(rejected)))
    return args


def main(argv: Sequence[str] | None = None):
    args = _parse_args(argv)
    common.configure_logging(args.log_level)
    overrides = {k[3:]: v for k, v in vars(args).items() if k.startswith("hp_") and v is not None}
    booster, metadata = run(
        train_path=Path(args.train),
        model_dir=Path(args.model_dir),
        validation_path=Path(args.validation) if args.validation else None,
        hyperparameters=overrides,
        hyperparameters_file=Path(args.hyperparameters_file) if args.hyperparameters_file else None,
        output_data_dir=Path(args.output_data_dir) if args.output_data_dir else None,
    )
    common.LOG.info("model saved to %s: %s", args.model_dir, metadata["final_metrics"])
    return metadata


if __name__ == "__main__":  # pragma: no cover
    main(sys.argv[1:])
