"""Run the whole training workflow locally on synthetic data.

preprocess -> train -> evaluate -> AUC/accuracy gate -> explain + bias -> registry inputs,
in a work folder laid out like the S3 prefixes the Step Functions workflow uses. This is
the local demo and what the pipeline's CodeBuild test stage runs:

    python ml/credit_default/pipeline_local.py --work-dir /tmp/credit-demo

It exits non-zero when the gate rejects the model or any step fails. Every step is called
through its command-line ``main`` (the same argument parsing the SageMaker jobs use).

Work folder (``--work-dir``, default a new temporary folder that is kept)::

    input/data/credit.csv              synthetic raw data
    processing/{train,validation,test,params}/   preprocess outputs
    input/config/hyperparameters.json  string-valued, as SageMaker writes it
    model/                             train output (SM_MODEL_DIR)
    training-output/model.tar.gz       the model as a training job uploads it
    evaluation/{evaluation.json,predictions.csv}
    explainability/{explainability.json,explainability_report.md}
    bias/bias_report.json
    pipeline_summary.json              gate decision, headline metrics, artefact paths and
                                       the Model Registry ModelMetrics mapping
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Dict, Optional, Sequence

try:
    from . import _common as common
    from . import bias, evaluate, explain, preprocess, synthetic, train
except ImportError:  # run as a script beside the other modules
    import _common as common  # type: ignore[no-redef]
    import bias  # type: ignore[no-redef]
    import evaluate  # type: ignore[no-redef]
    import explain  # type: ignore[no-redef]
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
) -> Dict:
    work = Path(work_dir)
    log = ["--log-level", log_level]
    work.mkdir(parents=True, exist_ok=True)
    raw = work / "input" / "data" / "credit.csv"
    synthetic.main([
        "--rows", str(rows), "--seed", str(seed), "--facet-column", facet_column,
        "--facet-value", str(facet_values[0]), "--facet-effect", str(facet_effect),
        "--dirty-fraction", str(dirty_fraction), "--output", str(raw),
    ])

    processing = work / "processing"
    params = preprocess.main(["--input", str(raw.parent), "--output-dir", str(processing), "--seed", str(seed)] + log)

    config = work / "input" / "config" / "hyperparameters.json"
    common.write_json(config, {  # SageMaker passes every hyperparameter value as a string
        "num_round": str(num_round), "max_depth": "4", "eta": "0.1", "subsample": "0.8",
        "colsample_bytree": "0.8", "min_child_weight": "5", "seed": str(seed),
        "early_stopping_rounds": "20", "objective": "binary:logistic", "eval_metric": "auc",
        "feature_names": ",".join(params["parameters"]["feature_columns"]),
        "sagemaker_program": "train.py",
    })
    model_dir = work / "model"
    train.main([
        "--train", str(processing / "train"), "--validation", str(processing / "validation"),
        "--model-dir", str(model_dir), "--hyperparameters-file", str(config),
    ] + log)
    archive = _package_model(model_dir, work / "training-output" / "model.tar.gz")

    evaluation_dir = work / "evaluation"
    report = evaluate.main([
        "--model", str(archive), "--test", str(processing / "test"),
        "--output-dir", str(evaluation_dir), "--threshold", str(threshold),
    ] + log)
    auc = report["metrics"]["auc"]["value"]
    accuracy = report["metrics"]["accuracy"]["value"]
    gate_passed = auc >= min_auc and accuracy >= min_accuracy
    summary: Dict = {
        "work_dir": str(work),
        "gate": {"min_auc": min_auc, "min_accuracy": min_accuracy, "auc": auc, "accuracy": accuracy, "passed": gate_passed},
        "artifacts": {
            "raw_data": str(raw),
            "preprocess_params": str(processing / "params" / preprocess.PARAMS_FILENAME),
            "train": str(processing / "train" / "train.csv"),
            "validation": str(processing / "validation" / "validation.csv"),
            "test": str(processing / "test" / "test.csv"),
            "model": str(model_dir / common.MODEL_FILENAME),
            "model_metadata": str(model_dir / common.MODEL_METADATA_FILENAME),
            "model_archive": str(archive),
            "evaluation": str(evaluation_dir / evaluate.EVALUATION_FILENAME),
            "predictions": str(evaluation_dir / evaluate.PREDICTIONS_FILENAME),
        },
    }
    if not gate_passed:
        summary["status"] = "rejected_by_gate"
        common.write_json(work / "pipeline_summary.json", summary)
        return summary

    explain_dir = work / "explainability"
    explain.main([
        "--model", str(archive), "--data", str(processing / "test"), "--output-dir", str(explain_dir),
        "--threshold", str(threshold), "--max-rows", "10",
    ] + log)
    bias_dir = work / "bias"
    bias_report = bias.main([
        "--predictions", str(evaluation_dir / evaluate.PREDICTIONS_FILENAME),
        "--pretraining-data", str(processing / "train"),
        "--pretraining-columns-from", str(processing / "params" / preprocess.PARAMS_FILENAME),
        "--output-dir", str(bias_dir), "--facet-column", facet_column,
        "--facet-values", ",".join(str(v) for v in facet_values),
    ] + log)
    summary["artifacts"].update({
        "explainability": str(explain_dir / explain.EXPLAINABILITY_FILENAME),
        "explainability_report": str(explain_dir / explain.REPORT_FILENAME),
        "bias_report": str(bias_dir / bias.BIAS_REPORT_FILENAME),
    })
    summary["bias_overall_flag"] = bias_report["overall_flag"]
    # What the Model Registry step receives (CreateModelPackage ModelMetrics, application/json).
    summary["model_registry"] = {
        "model_data_url": str(archive),
        "model_metrics": {
            "ModelQuality": {"Statistics": summary["artifacts"]["evaluation"]},
            "Bias": {"Report": summary["artifacts"]["bias_report"]},
            "Explainability": {"Report": summary["artifacts"]["explainability"]},
        },
        "model_approval_status": "PendingManualApproval",
    }
    summary["status"] = "completed"
    common.write_json(work / "pipeline_summary.json", summary)
    return summary


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description="Run preprocess -> train -> evaluate -> explain + bias locally.")
    parser.add_argument("--work-dir", default=None, help="default: a new temporary folder (kept)")
    parser.add_argument("--rows", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--num-round", type=int, default=60)
    parser.add_argument("--threshold", type=float, default=0.5)
    parser.add_argument("--min-auc", type=float, default=0.7)
    parser.add_argument("--min-accuracy", type=float, default=0.7)
    parser.add_argument("--facet-column", default="SEX")
    parser.add_argument("--facet-values", default="2")
    parser.add_argument("--facet-effect", type=float, default=0.0, help="synthetic log-odds shift for group d")
    parser.add_argument("--dirty-fraction", type=float, default=0.01)
    parser.add_argument("--cleanup", action="store_true", help="delete the work folder at the end")
    parser.add_argument("--log-level", default="WARNING")
    return parser


def main(argv: Optional[Sequence[str]] = None) -> Dict:
    args = build_parser().parse_args(argv)
    common.configure_logging(args.log_level)
    work = Path(args.work_dir) if args.work_dir else Path(tempfile.mkdtemp(prefix="credit-default-"))
    facet_values = [bias._parse_scalar(v.strip()) for v in args.facet_values.split(",") if v.strip()]
    try:
        summary = run_pipeline(
            work, args.rows, args.seed, args.num_round, args.threshold, args.min_auc, args.min_accuracy,
            args.facet_column, facet_values, args.facet_effect, args.dirty_fraction, args.log_level,
        )
    finally:
        if args.cleanup:
            shutil.rmtree(work, ignore_errors=True)
    print(json.dumps({k: summary[k] for k in ("status", "gate", "work_dir")}, indent=2))
    return summary


if __name__ == "__main__":  # pragma: no cover
    sys.exit(0 if main(sys.argv[1:])["status"] == "completed" else 1)
