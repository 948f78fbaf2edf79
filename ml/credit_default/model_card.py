"""Build the SageMaker Model Card content for a registered credit-default model version.

Runs as a SageMaker processing job (scikit-learn image; standard library only) or locally,
after evaluate, explain and bias. It turns their reports into the model card content JSON a
model-risk approver reads in the Model Registry:

* ``model_overview``: creator and model artifact;
* ``intended_uses``: purpose, intended use, factors affecting efficacy, risk rating and why;
* ``business_details``;
* ``training_details``: objective, training data (rows, class balance, SHA-256, features,
  protected attributes kept out), hyperparameters, train/validation AUC and gap;
* ``evaluation_details``: test-set quality (+ confusion matrix), bias (the SageMaker Clarify
  metric set for every facet group, and the gate decision), explainability (global TreeSHAP
  importance, reason-code families);
* ``additional_information``: ethical considerations, limitations, the decision threshold
  and the reason for it, the gates the version passed (``custom_details``).

The layout is AWS's "model package model card schema" (``CreateModelPackage``
``ModelCard.ModelCardContent``; the tests validate against it), which is also valid content
for a stand-alone ``CreateModelCard`` except that ``model_overview`` holds only
``model_creator`` and ``model_artifact``.

Reads (a path may be the file or the folder holding it)
    ``--evaluation`` evaluation.json, ``--bias`` bias_report.json, ``--explainability``
    explainability.json, ``--preprocess-params`` preprocess_params.json, optionally
    ``--training-metadata`` model_metadata.json.
Writes
    ``--output-dir`` (default ``/opt/ml/processing/model_card``) / ``model_card_content.json``
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

try:
    from . import _common as common
except ImportError:  # run as a script beside _common.py
    import _common as common  # type: ignore[no-redef]

MODEL_CARD_FILENAME = "model_card_content.json"
RISK_RATINGS = ("High", "Medium", "Low", "Unknown")

DEFAULT_PURPOSE = (
    "Estimate the probability that a credit-card customer defaults on next month's payment, "
    "from the account's credit limit, education level and six months of repayment status, "
    "bill and payment amounts."
)
DEFAULT_INTENDED_USE = (
    "Decision support for credit-line reviews: scores at or above the decision threshold are "
    "referred to a credit officer with the explained reasons; the model does not decline an "
    "applicant on its own. Not for marketing, pricing or collections without a separate review."
)
DEFAULT_RISK_EXPLANATION = (
    "Consumer credit decisions affect individuals' access to finance and are regulated "
    "(adverse-action notices, fair lending); creditworthiness assessment is a high-risk use "
    "under the EU AI Act (Annex III). Hence bias and explainability gates and manual approval."
)
DEFAULT_THRESHOLD_RATIONALE = (
    "A score >= the threshold predicts default. The default 0.5 is the point where default is "
    "more likely than not; it is not tuned to a cost ratio. The business owner should set it "
    "from the cost of a missed default versus a wrongly referred customer and record why here."
)


def _clip(text: str, limit: int) -> str:
    text = str(text)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _resolve(path: Path | None, filename: str) -> Path | None:
    if path is None:
        return None
    path = Path(path)
    return path / filename if path.is_dir() else path


def _number(name: str, value: Any, notes: str | None = None) -> dict | None:
    if value is None or isinstance(value, bool):
        return None
    metric = {"name": _clip(name, 255), "type": "number", "value": float(value)}
    if notes:
        metric["notes"] = _clip(notes, 1024)
    return metric


def _metric_list(items: Sequence[dict | None]) -> list[dict]:
    return [m for m in items if m is not None]


def quality_section(evaluation: dict, datasets: Sequence[str]) -> dict:
    metrics = evaluation["metrics"]
    headline = _metric_list([_number(name, metrics[name]["value"]) for name in metrics])
    matrix = evaluation["confusion_matrix"]["matrix"]
    counts = evaluation.get("counts", {})
    observation = (
        "Held-out test set, {} rows ({} defaults). Threshold {:.3f}: AUC {:.4f}, accuracy {:.4f}, "
        "recall {:.4f}, "
        "precision {:.4f}.".format(
            counts.get("n_samples"),
            counts.get("n_positive"),
            evaluation["threshold"],
            metrics["auc"]["value"],
            metrics["accuracy"]["value"],
            metrics["recall"]["value"],
            metrics["precision"]["value"],
        )
    )
    if "auc_gap" in metrics:
        observation += " Train AUC {:.4f}, validation AUC {:.4f}, gap {:.4f}.".format(
            metrics["train_auc"]["value"],
            metrics["validation_auc"]["value"],
            metrics["auc_gap"]["value"],
        )
    return {
        "name": "Model quality (test set)",
        "evaluation_observation": _clip(observation, 2096),
        "datasets": [_clip(d, 1024) for d in datasets][:10],
        "metadata": {"threshold": str(evaluation["threshold"]), "positive_label": "1 = default"},
        "metric_groups": [
            {"name": "Binary classification", "metric_data": headline},
            {
                "name": "Confusion matrix",
                "metric_data": [
                    {
                        "name": "confusion matrix (rows actual 0/1, columns predicted 0/1)",
                        "type": "matrix",
                        "value": [[float(v) for v in row] for row in matrix],
                        "x_axis_name": ["predicted no default", "predicted default"],
                        "y_axis_name": ["actual no default", "actual default"],
                    }
                ],
            },
        ],
    }


def bias_section(bias: dict) -> dict:
    gate = bias.get("gate", {})
    groups = []
    for group in bias.get("facet_groups", []):
        name = _clip("{} = {}".format(group["facet"], group["group_d"]), 63)
        data = _metric_list([_number(metric, value) for metric, value in group["metrics"].items()])
        if data:
            groups.append({"name": name, "metric_data": data})
    observation = "Registration gate {} on {} (thresholds {}, groups of at least {} rows).".format(
        "PASSED" if gate.get("passed") else "FAILED",
        ", ".join(gate.get("metrics", [])),
        gate.get("thresholds"),
        gate.get("min_group_size"),
    )
    if gate.get("failures"):
        observation += " Failures: {}.".format("; ".join(gate["failures"]))
    if gate.get("not_gated_small_groups"):
        observation += " Reported, not gated (too few rows): {}.".format(
            "; ".join(gate["not_gated_small_groups"])
        )
    label = bias.get("label", {})
    return {
        "name": "Bias (SageMaker Clarify metrics)",
        "evaluation_observation": _clip(observation, 2096),
        "metadata": {
            "positive_outcome": _clip(
                "label {} = {} (favourable: no default)".format(
                    label.get("column"), label.get("positive_outcome")
                ),
                1024,
            ),
            "gate_passed": str(bool(gate.get("passed"))),
        },
        "metric_groups": groups,
    }


def explainability_section(explainability: dict, top: int = 10) -> dict:
    importance = explainability["global_importance"][:top]
    data = _metric_list(
        [
            _number(item["feature"], item["mean_abs_shap"], "share %.1f%%" % (100 * item["share"]))
            for item in importance
        ]
    )
    codes: dict[str, int] = {}
    for decision in explainability.get("decisions", []):
        for reason in decision.get("reason_codes", [])[:1]:
            codes[reason["code"]] = codes.get(reason["code"], 0) + 1
    observation = (
        "Exact TreeSHAP (XGBoost pred_contribs) in log-odds; additivity checked on every row "
        "(max error {:.2e}). Each explained decision carries the application id and up to {} "
        "reason codes (feature families PAY_*, BILL_AMT*, PAY_AMT* grouped, values in business "
        "units). "
        "Most frequent first reason among explained decisions: {}.".format(
            explainability["additivity_check"]["max_abs_error"],
            explainability["parameters"]["top_k"],
            ", ".join(
                f"{code} ({int(count)})"
                for code, count in sorted(codes.items(), key=lambda kv: -kv[1])
            )
            or "none",
        )
    )
    return {
        "name": "Explainability (SHAP)",
        "evaluation_observation": _clip(observation, 2096),
        "metric_groups": [{"name": "Global importance: mean abs SHAP", "metric_data": data}],
    }


def build_model_card(
    evaluation: dict,
    bias: dict,
    explainability: dict,
    preprocess_params: dict,
    training_metadata: dict | None = None,
    model_name: str = "credit-default",
    model_creator: str = "credit-default model team",
    model_artifact: str | None = None,
    training_job_arn: str | None = None,
    training_image: str | None = None,
    datasets: Sequence[str] = (),
    risk_rating: str = "High",
    risk_explanation: str = DEFAULT_RISK_EXPLANATION,
    purpose: str = DEFAULT_PURPOSE,
    intended_use: str = DEFAULT_INTENDED_USE,
    threshold: float | None = None,
    threshold_rationale: str = DEFAULT_THRESHOLD_RATIONALE,
    gates: dict[str, str] | None = None,
) -> dict:
    """The model card content (a dict ready for ``json.dumps``)."""
    if risk_rating not in RISK_RATINGS:
        raise ValueError(
            "risk rating must be one of {}, got {!r}".format(", ".join(RISK_RATINGS), risk_rating)
        )
    threshold = float(evaluation["threshold"] if threshold is None else threshold)
    if abs(threshold - float(evaluation["threshold"])) > 1e-12:
        raise ValueError(
            "the card's threshold {} differs from the one the evaluation used ({}): evaluate at "
            "the "
            "threshold you document".format(threshold, evaluation["threshold"])
        )
    parameters = preprocess_params["parameters"]
    balance = preprocess_params["class_balance"]["train"]
    protected = parameters.get("protected_attributes") or []
    training_metrics = []  # the schema's training_metric is {name, value, notes}: no "type"
    for name in ("train_auc", "validation_auc", "auc_gap", "train_test_auc_gap"):
        if name in evaluation["metrics"] and evaluation["metrics"][name]["value"] is not None:
            training_metrics.append(
                {"name": name, "value": float(evaluation["metrics"][name]["value"])}
            )
    hyperparameters = []
    for name, value in sorted(((training_metadata or {}).get("hyperparameters") or {}).items()):
        if value is not None and name != "feature_names":
            hyperparameters.append({"name": _clip(name, 255), "value": _clip(value, 255)})
    observations = (
        "{:d} training rows (default rate {:.3f}), stratified split seed {}; input SHA-256 {}. "
        "Features ({:d}): {}. Protected attributes kept out of the features and evaluated as bias "
        "facets: {}. Early stopping on the validation set.".format(
            int(balance["rows"]),
            balance["positive_rate"],
            parameters.get("seed"),
            preprocess_params["input"]["sha256"],
            len(parameters["feature_columns"]),
            ", ".join(parameters["feature_columns"]),
            ", ".join(protected) or "none",
        )
    )
    job: dict[str, Any] = {
        "training_datasets": [_clip(d, 1024) for d in datasets][:15],
        "training_metrics": training_metrics,
        "hyper_parameters": hyperparameters,
    }
    if training_job_arn:
        job["training_arn"] = _clip(training_job_arn, 1024)
    if training_image:
        job["training_environment"] = {"container_image": [_clip(training_image, 1024)]}
    gate_details = {
        "decision_threshold": str(threshold),
        "threshold_rationale": _clip(threshold_rationale, 1024),
        "model_name": _clip(model_name, 1024),
    }
    for name, text in (gates or {}).items():
        gate_details[f"gate_{name}"] = _clip(text, 1024)
    limitations = (
        "Trained and evaluated on data with the UCI credit-card default schema; performance can "
        "degrade when the applicant population, credit policy or economy drifts (Model Monitor "
        "data-quality, model-quality, bias-drift and attribution-drift schedules watch this). Bias "
        "groups smaller than the gate's minimum size are reported but not gated. Proxies of "
        "protected attributes (e.g. credit limit correlating with age) can remain in the features. "
        "Scores are probabilities from one gradient-boosted model; calibration is not re-fitted."
    )
    overview: dict[str, Any] = {"model_creator": _clip(model_creator, 1024)}
    if model_artifact:
        overview["model_artifact"] = [_clip(model_artifact, 1024)]
    return {
        "model_overview": overview,
        "intended_uses": {
            "purpose_of_model": _clip(purpose, 2048),
            "intended_uses": _clip(intended_use, 2048),
            "factors_affecting_model_efficiency": _clip(
                "Population and economic drift; changes to how repayment status or bill amounts "
                "are recorded; missing values (imputed with training medians).",
                2048,
            ),
            "risk_rating": risk_rating,
            "explanations_for_risk_rating": _clip(risk_explanation, 2048),
        },
        "business_details": {
            "business_problem": (
                "Predict next-month credit-card default to support credit-line decisions."
            ),
            "business_stakeholders": (
                "Credit risk, model risk management, compliance (fair lending), operations."
            ),
            "line_of_business": "Consumer credit cards",
        },
        "training_details": {
            "objective_function": {
                "function": {
                    "function": "Minimize",
                    "facet": "Loss",
                    "condition": "binary:logistic log loss",
                },
                "notes": "XGBoost, early stopping on validation AUC.",
            },
            "training_observations": _clip(observations, 1024),
            "training_job_details": job,
        },
        "evaluation_details": [
            quality_section(evaluation, datasets),
            bias_section(bias),
            explainability_section(explainability),
        ],
        "additional_information": {
            "ethical_considerations": _clip(
                "Protected attributes (%s) are not model inputs; the bias gate checks the model's "
                "outcomes across them (SageMaker Clarify metrics). Every adverse decision is "
                "explained with reason codes for the customer notice; a credit officer reviews "
                "referrals." % (", ".join(protected) or "none configured"),
                2048,
            ),
            "caveats_and_recommendations": _clip(limitations, 2048),
            "custom_details": gate_details,
        },
    }


def run(
    evaluation_path: Path,
    bias_path: Path,
    explainability_path: Path,
    preprocess_params_path: Path,
    output_dir: Path,
    training_metadata_path: Path | None = None,
    **options: Any,
) -> dict:
    read = common.read_json
    metadata_file = _resolve(training_metadata_path, common.MODEL_METADATA_FILENAME)
    card = build_model_card(
        read(_resolve(evaluation_path, "evaluation.json")),
        read(_resolve(bias_path, "bias_report.json")),
        read(_resolve(explainability_path, "explainability.json")),
        read(_resolve(preprocess_params_path, "preprocess_params.json")),
        read(metadata_file) if metadata_file is not None and metadata_file.is_file() else None,
        **options,
    )
    common.write_json(Path(output_dir) / MODEL_CARD_FILENAME, card)
    return card


def _gate(text: str) -> Any:
    name, _, description = text.partition("=")
    if not name or not description:
        raise argparse.ArgumentTypeError(
            "expected NAME=DESCRIPTION, e.g. quality='auc >= 0.75: 0.81'"
        )
    return name.strip(), description.strip()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Write the SageMaker Model Card content for the model version."
    )
    parser.add_argument("--evaluation", default="/opt/ml/processing/input/evaluation")
    parser.add_argument("--bias", default="/opt/ml/processing/input/bias")
    parser.add_argument("--explainability", default="/opt/ml/processing/input/explainability")
    parser.add_argument("--preprocess-params", default="/opt/ml/processing/input/params")
    parser.add_argument(
        "--training-metadata",
        default=None,
        help="model_metadata.json (training output) or its folder",
    )
    parser.add_argument("--output-dir", default="/opt/ml/processing/model_card")
    parser.add_argument("--model-name", default="credit-default")
    parser.add_argument("--model-creator", default="credit-default model team")
    parser.add_argument("--model-artifact", default=None, help="S3 URI of model.tar.gz")
    parser.add_argument("--training-job-arn", default=None)
    parser.add_argument("--training-image", default=None)
    parser.add_argument(
        "--dataset",
        dest="datasets",
        action="append",
        default=[],
        help="repeatable: training/test data URI",
    )
    parser.add_argument("--risk-rating", default="High", choices=RISK_RATINGS)
    parser.add_argument("--risk-explanation", default=DEFAULT_RISK_EXPLANATION)
    parser.add_argument("--purpose", default=DEFAULT_PURPOSE)
    parser.add_argument("--intended-use", default=DEFAULT_INTENDED_USE)
    parser.add_argument(
        "--threshold",
        type=float,
        default=None,
        help="decision threshold (default: the evaluation's)",
    )
    parser.add_argument("--threshold-rationale", default=DEFAULT_THRESHOLD_RATIONALE)
    parser.add_argument(
        "--gate",
        dest="gates",
        action="append",
        type=_gate,
        default=[],
        help="repeatable NAME=DESCRIPTION of a passed gate",
    )
    parser.add_argument("--log-level", default="INFO")
    return parser


def main(argv: Sequence[str] | None = None) -> dict:
    args = build_parser().parse_args(argv)
    common.configure_logging(args.log_level)
    card = run(
        Path(args.evaluation),
        Path(args.bias),
        Path(args.explainability),
        Path(args.preprocess_params),
        Path(args.output_dir),
        Path(args.training_metadata) if args.training_metadata else None,
        model_name=args.model_name,
        model_creator=args.model_creator,
        model_artifact=args.model_artifact,
        training_job_arn=args.training_job_arn,
        training_image=args.training_image,
        datasets=args.datasets,
        risk_rating=args.risk_rating,
        risk_explanation=args.risk_explanation,
        purpose=args.purpose,
        intended_use=args.intended_use,
        threshold=args.threshold,
        threshold_rationale=args.threshold_rationale,
        gates=dict(args.gates),
    )
    common.LOG.info(
        "model card written: risk %s, %d evaluation sections",
        card["intended_uses"]["risk_rating"],
        len(card["evaluation_details"]),
    )
    return card


if __name__ == "__main__":  # pragma: no cover
    main(sys.argv[1:])
