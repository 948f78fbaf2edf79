"""Run the whole training workflow locally on synthetic data (the end-to-end rehearsal).

preprocess -> train -> evaluate -> quality and train/validation-gap gates -> explain + bias
-> bias gate -> model card -> model package contents -> a prediction served through the
two-container inference pipeline (scikit-learn container running serve_drop.py, then the
XGBoost container's loading rule), in a work folder laid out like the S3 prefixes the Step
Functions workflow uses. This is the local demo and part of ``make test``:

    python ml/credit_default/pipeline_local.py --work-dir /tmp/credit-demo

It exits non-zero when a gate rejects the model or any step fails. Every step is called
through its command-line ``main`` with the arguments the workflow passes.

Work folder (``--work-dir``, default a new temporary folder that is kept)::

    input/data/credit.csv              synthetic raw data (with an ``ID`` column)
    processing/{train,validation,test,baseline,facets,params}/   preprocess outputs
    input/config/hyperparameters.json  string-valued, as SageMaker writes it
    model/                             train output (SM_MODEL_DIR): xgboost-model only
    training-output/model.tar.gz       the model as a training job uploads it
    training-output/data/model_metadata.json   SM_OUTPUT_DATA_DIR (output.tar.gz)
    evaluation/{evaluation.json,predictions.csv}
    explainability/{explainability.json,explainability_report.md}
    bias/bias_report.json
    model_card/model_card_content.json
    serving/container-1/               processing/serving/model.tar.gz unpacked (serve_drop.py)
    serving/container-2/               model.tar.gz unpacked as the endpoint would
    pipeline_summary.json              gate decisions, headline metrics, artefact paths,
                                       the Model Registry inputs and the serving check
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tarfile
import tempfile
from collections.abc import Sequence
from pathlib import Path

try:
    from . import _common as common
    from . import bias, container_rule, evaluate, explain, model_card, preprocess, synthetic, train
except ImportError:  # run as a script beside the other modules
    import _common as common  # type: ignore[no-redef]
    import bias  # type: ignore[no-redef]
    import container_rule  # type: ignore[no-redef]
    import evaluate  # type: ignore[no-redef]
    import explain  # type: ignore[no-redef]
    import model_card  # type: ignore[no-redef]
    import preprocess  # type: ignore[no-redef]
    import synthetic  # type: ignore[no-redef]
    import train  # type: ignore[no-redef]


def _package_model(model_dir: Path, archive: Path) -> Path:
    """Tar the model folder the way a SageMaker training job uploads it."""
    archive.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(archive, "w:gz") as tar:
        for path in sorted(model_dir.iterdir()):
            tar.add(path, arcname=path.name)
    return archive


def _gate_summary(passed: bool, **values) -> dict:
    return dict(values, passed=bool(passed))


def run_pipeline(
    work_dir: Path,
    rows: int = 3000,
    seed: int = 42,
    num_round: int = 60,
    threshold: float = 0.5,
    min_auc: float = 0.7,
    min_accuracy: float = 0.7,
    facet_column: str = "SEX",
    facet_values: Sequence = (2,),
    facet_effect: float = 0.0,
    dirty_fraction: float = 0.01,
    log_level: str = "INFO",
    max_auc_gap: float = 0.1,
    extra_facets: Sequence[str] = tuple(bias.DEFAULT_EXTRA_FACETS),
) -> dict:
    work = Path(work_dir)
    log = ["--log-level", log_level]
    work.mkdir(parents=True, exist_ok=True)
    raw = work / "input" / "data" / "credit.csv"
    synthetic.main(
        [
            "--rows",
            str(rows),
            "--seed",
            str(seed),
            "--facet-column",
            facet_column,
            "--facet-value",
            str(facet_values[0]),
            "--facet-effect",
            str(facet_effect),
            "--dirty-fraction",
            str(dirty_fraction),
            "--output",
            str(raw),
        ]
    )

    processing = work / "processing"
    params = preprocess.main(
        ["--input", str(raw.parent), "--output-dir", str(processing), "--seed", str(seed)] + log
    )

    config = work / "input" / "config" / "hyperparameters.json"
    common.write_json(
        config,
        {  # SageMaker passes every hyperparameter value as a string
            "num_round": str(num_round),
            "max_depth": "4",
            "eta": "0.3",
            "subsample": "0.8",
            "colsample_bytree": "0.8",
            "min_child_weight": "5",
            "seed": str(seed),
            "early_stopping_rounds": "20",
            "objective": "binary:logistic",
            "eval_metric": "auc",
            "feature_names": ",".join(params["parameters"]["feature_columns"]),
            "sagemaker_program": "train.py",
        },
    )
    model_dir = work / "model"
    output_data = work / "training-output" / "data"
    train.main(
        [
            "--train",
            str(processing / "train"),
            "--validation",
            str(processing / "validation"),
            "--model-dir",
            str(model_dir),
            "--output-data-dir",
            str(output_data),
            "--hyperparameters-file",
            str(config),
        ]
        + log
    )
    archive = _package_model(model_dir, work / "training-output" / "model.tar.gz")

    evaluation_dir = work / "evaluation"
    report = evaluate.main(
        [
            "--model",
            str(archive),
            "--test",
            str(processing / "test"),
            "--train",
            str(processing / "train"),
            "--validation",
            str(processing / "validation"),
            "--output-dir",
            str(evaluation_dir),
            "--threshold",
            str(threshold),
        ]
        + log
    )
    metrics = report["metrics"]
    auc, accuracy, gap = (
        metrics["auc"]["value"],
        metrics["accuracy"]["value"],
        metrics["auc_gap"]["value"],
    )
    quality_gate = _gate_summary(
        auc >= min_auc and accuracy >= min_accuracy,
        min_auc=min_auc,
        min_accuracy=min_accuracy,
        auc=auc,
        accuracy=accuracy,
    )
    gap_gate = _gate_summary(
        gap <= max_auc_gap,
        max_auc_gap=max_auc_gap,
        auc_gap=gap,
        train_auc=metrics["train_auc"]["value"],
        validation_auc=metrics["validation_auc"]["value"],
    )
    summary: dict = {
        "work_dir": str(work),
        "gate": quality_gate,  # the quality gate (kept under its old key)
        "gates": {"quality": quality_gate, "auc_gap": gap_gate},
        "artifacts": {
            "raw_data": str(raw),
            "preprocess_params": str(processing / "params" / preprocess.PARAMS_FILENAME),
            "train": str(processing / "train" / "train.csv"),
            "validation": str(processing / "validation" / "validation.csv"),
            "test": str(processing / "test" / "test.csv"),
            "baseline": str(processing / "baseline" / "baseline.csv"),
            "train_facets": str(processing / "facets" / "train_facets.csv"),
            "model": str(model_dir / common.MODEL_FILENAME),
            "model_metadata": str(output_data / common.MODEL_METADATA_FILENAME),
            "model_archive": str(archive),
            "evaluation": str(evaluation_dir / evaluate.EVALUATION_FILENAME),
            "predictions": str(evaluation_dir / evaluate.PREDICTIONS_FILENAME),
        },
    }
    if not (quality_gate["passed"] and gap_gate["passed"]):
        summary["status"] = "rejected_by_gate"
        common.write_json(work / "pipeline_summary.json", summary)
        return summary

    explain_dir = work / "explainability"
    explain.main(
        [
            "--model",
            str(archive),
            "--data",
            str(processing / "test"),
            "--output-dir",
            str(explain_dir),
            "--threshold",
            str(threshold),
            "--max-rows",
            "10",
        ]
        + log
    )
    bias_dir = work / "bias"
    facet_args: list = []
    for spec in extra_facets:
        facet_args += ["--facet", spec]
    bias_report = bias.main(
        [
            "--predictions",
            str(evaluation_dir / evaluate.PREDICTIONS_FILENAME),
            "--pretraining-data",
            str(processing / "train"),
            "--pretraining-columns-from",
            str(processing / "params" / preprocess.PARAMS_FILENAME),
            "--pretraining-facets",
            str(processing / "facets" / "train_facets.csv"),
            "--output-dir",
            str(bias_dir),
            # exactly the workflow's form: the values as separate arguments
            "--facet-column",
            facet_column,
            "--facet-values",
            *[str(v) for v in facet_values],
        ]
        + facet_args
        + log
    )
    summary["artifacts"].update(
        {
            "explainability": str(explain_dir / explain.EXPLAINABILITY_FILENAME),
            "explainability_report": str(explain_dir / explain.REPORT_FILENAME),
            "bias_report": str(bias_dir / bias.BIAS_REPORT_FILENAME),
        }
    )
    summary["bias_overall_flag"] = bias_report["overall_flag"]
    bias_gate = _gate_summary(
        bias_report["gate"]["passed"],
        failures=bias_report["gate"]["failures"],
        worst=bias_report["gate"]["worst"],
    )
    summary["gates"]["bias"] = bias_gate
    if not bias_gate["passed"]:
        summary["status"] = "rejected_by_gate"
        common.write_json(work / "pipeline_summary.json", summary)
        return summary

    card_dir = work / "model_card"
    model_card.main(
        [
            "--evaluation",
            str(evaluation_dir),
            "--bias",
            str(bias_dir),
            "--explainability",
            str(explain_dir),
            "--preprocess-params",
            str(processing / "params"),
            "--training-metadata",
            str(output_data),
            "--output-dir",
            str(card_dir),
            "--model-artifact",
            str(archive),
            "--dataset",
            str(raw),
            "--threshold",
            str(threshold),
            "--gate",
            f"quality=auc {auc:.4f} >= {min_auc} and accuracy {accuracy:.4f} >= {min_accuracy}",
            "--gate",
            f"auc_gap=train-validation AUC gap {gap:.4f} <= {max_auc_gap}",
            "--gate",
            "bias={}".format(
                ", ".join(f"{k} {v}" for k, v in sorted(bias_report["gate"]["worst"].items()))
            ),
        ]
        + log
    )
    summary["artifacts"]["model_card"] = str(card_dir / model_card.MODEL_CARD_FILENAME)

    # What the endpoint does: container 1 (scikit-learn) imports serve_drop.py from its
    # archive and drops the protected attributes of the request row; container 2 (XGBoost)
    # unpacks model.tar.gz, loads every non-dot file as a booster and scores the forwarded
    # CSV row of model features (no header, no label).
    with tarfile.open(archive, "r:gz") as tar:
        members = sorted(m.name for m in tar.getmembers())
    serving_archive = processing / params["outputs"]["serving"]["path"]
    test_frame = common.read_csv_with_header(processing / "test")
    request_columns = params["parameters"]["request_columns"]
    payload = ",".join(
        "" if v != v else repr(float(v)) for v in test_frame.loc[0, request_columns].tolist()
    )
    served = container_rule.serve_pipeline(serving_archive, archive, work / "serving", payload)
    scores = served["scores"]
    predictions = common.read_csv_with_header(evaluation_dir / evaluate.PREDICTIONS_FILENAME)
    expected = float(predictions.loc[0, evaluate.SCORE_COLUMN])
    summary["artifacts"]["serving_archive"] = str(serving_archive)
    summary["model_package"] = {
        "archive_members": members,
        "containers": [
            {"image": "sagemaker-scikit-learn", "model_data_url": str(serving_archive)},
            {"image": "sagemaker-xgboost", "model_data_url": str(archive)},
        ],
    }
    summary["serving_check"] = {
        "loaded_files": served["loaded_files"],
        "payload": payload,
        "request_columns": request_columns,
        "forwarded": served["forwarded"].strip(),
        "score": float(scores[0]),
        "evaluate_score": expected,
        "matches_evaluation": abs(float(scores[0]) - expected) <= 1e-6,
    }
    if not summary["serving_check"]["matches_evaluation"]:
        raise RuntimeError(f"the served score {scores[0]} differs from evaluate's {expected}")

    # What the Model Registry step receives (CreateModelPackage ModelMetrics, application/json).
    summary["model_registry"] = {
        "model_data_url": str(archive),
        "model_metrics": {
            "ModelQuality": {"Statistics": summary["artifacts"]["evaluation"]},
            "Bias": {"Report": summary["artifacts"]["bias_report"]},
            "Explainability": {"Report": summary["artifacts"]["explainability"]},
        },
        "model_card_content": summary["artifacts"]["model_card"],
        "model_approval_status": "PendingManualApproval",
    }
    summary["status"] = "completed"
    common.write_json(work / "pipeline_summary.json", summary)
    return summary


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Run preprocess -> train -> evaluate -> explain + bias locally."
    )
    parser.add_argument("--work-dir", default=None, help="default: a new temporary folder (kept)")
    parser.add_argument("--rows", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--num-round", type=int, default=60)
    parser.add_argument("--threshold", type=float, default=0.5)
    parser.add_argument("--min-auc", type=float, default=0.7)
    parser.add_argument("--min-accuracy", type=float, default=0.7)
    parser.add_argument(
        "--max-auc-gap",
        type=float,
        default=0.1,
        help="gate: train AUC - validation AUC at most this",
    )
    parser.add_argument("--facet-column", default="SEX")
    parser.add_argument("--facet-values", default="2")
    parser.add_argument(
        "--facet-effect", type=float, default=0.0, help="synthetic log-odds shift for group d"
    )
    parser.add_argument("--dirty-fraction", type=float, default=0.01)
    parser.add_argument("--cleanup", action="store_true", help="delete the work folder at the end")
    parser.add_argument("--log-level", default="WARNING")
    return parser


def main(argv: Sequence[str] | None = None) -> dict:
    args = build_parser().parse_args(argv)
    common.configure_logging(args.log_level)
    work = (
        Path(args.work_dir) if args.work_dir else Path(tempfile.mkdtemp(prefix="credit-default-"))
    )
    facet_values = [
        bias._parse_scalar(v.strip()) for v in args.facet_values.split(",") if v.strip()
    ]
    try:
        summary = run_pipeline(
            work,
            args.rows,
            args.seed,
            args.num_round,
            args.threshold,
            args.min_auc,
            args.min_accuracy,
            args.facet_column,
            facet_values,
            args.facet_effect,
            args.dirty_fraction,
            args.log_level,
            args.max_auc_gap,
        )
    finally:
        if args.cleanup:
            shutil.rmtree(work, ignore_errors=True)
    print(json.dumps({k: summary[k] for k in ("status", "gates", "work_dir")}, indent=2))
    return summary


if __name__ == "__main__":  # pragma: no cover
    sys.exit(0 if main(sys.argv[1:])["status"] == "completed" else 1)
