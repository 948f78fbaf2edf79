"""Explain the model: global feature importance and per-decision reasons (exact TreeSHAP).

Runs as a SageMaker processing job on the SageMaker XGBoost 1.7-1 image (needs
``xgboost``), or locally. The SHAP values are XGBoost's built-in exact TreeSHAP
(``Booster.predict(dmatrix, pred_contribs=True)``); no ``shap`` package is needed. They
are in log-odds (margin) space: for every row, the feature contributions plus the bias
term equal the model's margin, ``logit(score)``. This additivity is checked for every
row, and the step fails (``AdditivityError``) if it does not hold.

Reads
    ``--model`` (default ``/opt/ml/processing/input/model``): folder / ``xgboost-model`` /
    ``model.tar.gz``, as for ``evaluate.py``.
    ``--data`` (default ``/opt/ml/processing/input/test``): headed CSV, label first, then
    the model's features in training order, then optional pass-through columns.

Writes (``--output-dir``, default ``/opt/ml/processing/explainability``)
    ``explainability.json`` and ``explainability_report.md`` (a short human-readable report).

Per-decision reasons ("reverse the model's decision"): for each selected row, the top
``--top-k`` features whose contributions push the score *toward default* (largest positive
contributions first, with the feature value), i.e. the principal reasons for an adverse
decision. Rows: ``--rows`` (comma-separated 0-based positions in the data file), else the
rows predicted to default (``score >= --threshold``), highest score first, at most
``--max-rows``.

``explainability.json``::

    {
      "schema_version": "1.0",
      "step": "explain",
      "method": "xgboost_tree_shap",
      "output_space": "log_odds",
      "n_rows": 450, "n_features": 23,
      "base_value": -1.27,              # bias term (expected margin)
      "additivity_check": {"passed": true, "max_abs_error": 2e-06, "tolerance": 0.001},
      "global_importance": [            # ranked by mean |SHAP|, rank 1 = most important
        {"rank": 1, "feature": "PAY_0", "mean_abs_shap": 0.61, "mean_shap": -0.02,
         "share": 0.34}, ...],
      "decisions": [
        {"row": 17, "id": null, "score": 0.93, "margin": 2.6, "predicted_label": 1,
         "label": 1, "base_value": -1.27,
         "application_id": 10234,        # from the input's id column (preprocess --id-column)
         "top_reasons": [{"feature": "PAY_0", "value": 3.0, "contribution": 1.9}, ...],
         "reason_codes": [                # adverse-action reasons, feature families grouped
           {"code": "RC01", "family": "repayment_status",
            "description": "Late or missed repayments in recent months",
            "features": ["PAY_0", ...], "value_text": "latest month: 3 months late; ...",
            "contribution": 2.1}, ...]}],
      "parameters": {"top_k": 5, "threshold": 0.5, "max_rows": 20, "rows": null},
      "model": {...}, "data": {...}
    }
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

try:
    from . import _common as common
except ImportError:  # run as a script beside _common.py
    import _common as common  # type: ignore[no-redef]

EXPLAINABILITY_FILENAME = "explainability.json"
REPORT_FILENAME = "explainability_report.md"


class AdditivityError(RuntimeError):
    """SHAP contributions plus bias did not reproduce the model's margin."""


def shap_values(booster, frame: pd.DataFrame, feature_columns: Sequence[str]):
    """Return ``(contributions [n, F], bias [n], margin [n])`` as float64.

    ``contributions`` are exact TreeSHAP values; ``bias`` is the last column XGBoost returns.
    """
    dmatrix = common.make_dmatrix(frame, feature_columns, booster)
    contribs = np.asarray(booster.predict(dmatrix, pred_contribs=True), dtype=np.float64)
    margin = np.asarray(booster.predict(dmatrix, output_margin=True), dtype=np.float64)
    if contribs.ndim != 2 or contribs.shape[1] != len(feature_columns) + 1:
        raise ValueError(
            f"unexpected SHAP output shape {contribs.shape} (multi-output models are not supported)"
        )
    return contribs[:, :-1], contribs[:, -1], margin


def check_additivity(
    contributions: np.ndarray, bias: np.ndarray, margin: np.ndarray, tolerance: float = 1e-3
) -> dict:
    """Verify ``contributions.sum(1) + bias == margin`` for every row; raise if not."""
    reconstructed = contributions.sum(axis=1) + bias
    errors = np.abs(reconstructed - margin)
    max_error = float(errors.max()) if errors.size else 0.0
    if not np.all(np.isfinite(reconstructed)) or max_error > tolerance:
        worst = int(np.argmax(errors)) if errors.size else -1
        raise AdditivityError(
            "SHAP additivity failed: max |sum(contributions) + bias - margin| = "
            f"{max_error:.6g} at row {int(worst)} (tolerance {tolerance:g})"
        )
    return {"passed": True, "max_abs_error": max_error, "tolerance": tolerance}


def global_importance(contributions: np.ndarray, feature_columns: Sequence[str]) -> list[dict]:
    """Features ranked by mean |SHAP| (ties broken by feature order)."""
    mean_abs = np.abs(contributions).mean(axis=0)
    mean_signed = contributions.mean(axis=0)
    total = float(mean_abs.sum())
    order = sorted(range(len(feature_columns)), key=lambda i: (-mean_abs[i], i))
    return [
        {
            "rank": rank,
            "feature": feature_columns[i],
            "mean_abs_shap": float(mean_abs[i]),
            "mean_shap": float(mean_signed[i]),
            "share": float(mean_abs[i] / total) if total > 0 else 0.0,
        }
        for rank, i in enumerate(order, start=1)
    ]


def top_reasons(
    contribution_row: np.ndarray,
    value_row: Sequence[float],
    feature_columns: Sequence[str],
    top_k: int,
) -> list[dict]:
    """The up-to-``top_k`` features pushing this row toward default (contribution > 0),
    largest first."""
    order = sorted(range(len(feature_columns)), key=lambda i: (-contribution_row[i], i))
    reasons = []
    for i in order:
        if contribution_row[i] <= 0 or len(reasons) >= top_k:
            break
        reasons.append(
            {
                "feature": feature_columns[i],
                "value": float(value_row[i]),
                "contribution": float(contribution_row[i]),
            }
        )
    return reasons


# ----------------------------------------------------------------------------- reason codes
# Adverse-action reason codes: the SHAP contributions of a feature family are summed
# (TreeSHAP values are additive, so a family's sum is its joint push on the log-odds) and
# the families pushing toward default are stated in business terms. Amounts are in the
# data's currency (New Taiwan dollars in the UCI data).
CURRENCY = "NT$"
REASON_FAMILIES = [
    # (code, family, features (a prefix ends with *), description)
    (
        "RC01",
        "repayment_status",
        ["PAY_0", "PAY_2", "PAY_3", "PAY_4", "PAY_5", "PAY_6"],
        "Late or missed repayments in recent months",
    ),
    ("RC02", "bill_amount", ["BILL_AMT*"], "High outstanding balance on recent statements"),
    ("RC03", "payment_amount", ["PAY_AMT*"], "Low amounts repaid in recent months"),
    ("RC04", "credit_limit", ["LIMIT_BAL"], "Credit limit"),
    ("RC05", "education", ["EDUCATION"], "Education level"),
    (
        "RC90",
        "protected_attribute",
        ["SEX", "AGE", "MARRIAGE"],
        "Protected attribute used as a model feature (review: should not drive a decision)",
    ),
]
PAY_STATUS_TEXT = {-2: "no balance to pay", -1: "paid in full", 0: "minimum paid (revolving)"}
EDUCATION_TEXT = {1: "graduate school", 2: "university", 3: "high school", 4: "other"}
MONTH_NAMES = [
    "latest month",
    "2 months ago",
    "3 months ago",
    "4 months ago",
    "5 months ago",
    "6 months ago",
]


def _family_of(feature: str) -> int | None:
    for index, (_, _, members, _) in enumerate(REASON_FAMILIES):
        for member in members:
            if feature == member or (member.endswith("*") and feature.startswith(member[:-1])):
                return index
    return None


def _money(value: float) -> str:
    return "{} {}".format(CURRENCY, format(int(round(value)), ","))


def _pay_status(value: float) -> str:
    code = int(round(value))
    if code in PAY_STATUS_TEXT:
        return PAY_STATUS_TEXT[code]
    return f"{code} month{'' if code == 1 else 's'} late"


def _value_text(family: str, values: dict[str, float]) -> str:
    """The family's values in business units (currency, months of delay, categories)."""
    if family == "repayment_status":
        ordered = [c for c in ["PAY_0", "PAY_2", "PAY_3", "PAY_4", "PAY_5", "PAY_6"] if c in values]
        parts = [
            f"{MONTH_NAMES[i] if i < len(MONTH_NAMES) else c}: {_pay_status(values[c])}"
            for i, c in enumerate(ordered)
        ]
        worst = max(values[c] for c in ordered)
        text = "; ".join(parts[:3])
        if worst >= 1:
            text += f"; worst in the period: {_pay_status(worst)}"
        return text
    if family in ("bill_amount", "payment_amount"):
        ordered = sorted(values, key=lambda c: int("".join(ch for ch in c if ch.isdigit()) or 0))
        latest = values[ordered[0]]
        what = "latest statement balance" if family == "bill_amount" else "latest payment"
        total = sum(values.values())
        label = "average balance" if family == "bill_amount" else "total repaid"
        shown = total / len(values) if family == "bill_amount" else total
        return f"{what} {_money(latest)}; {label} over {len(values)} months {_money(shown)}"
    if family == "credit_limit":
        return "credit limit {}".format(_money(values["LIMIT_BAL"]))
    if family == "education":
        return EDUCATION_TEXT.get(
            int(round(values["EDUCATION"])), "code {:g}".format(values["EDUCATION"])
        )
    return ", ".join(f"{k} = {v:g}" for k, v in values.items())


def reason_codes(
    contribution_row: np.ndarray,
    value_row: Sequence[float],
    feature_columns: Sequence[str],
    top_k: int,
) -> list[dict]:
    """Up to ``top_k`` reason codes: feature families whose summed contribution pushes this
    row toward default (> 0), largest first. Features outside every family stand alone."""
    totals: dict[str, dict] = {}
    for i, feature in enumerate(feature_columns):
        index = _family_of(feature)
        if index is None:
            code, family, description = f"RC99-{feature}", feature.lower(), f"Feature {feature}"
        else:
            code, family, _, description = REASON_FAMILIES[index]
        entry = totals.setdefault(
            code,
            {
                "code": code,
                "family": family,
                "description": description,
                "features": [],
                "values": {},
                "contribution": 0.0,
            },
        )
        entry["features"].append(feature)
        entry["values"][feature] = float(value_row[i])
        entry["contribution"] += float(contribution_row[i])
    ranked = sorted(
        (e for e in totals.values() if e["contribution"] > 0),
        key=lambda e: (-e["contribution"], e["code"]),
    )
    out = []
    for entry in ranked[:top_k]:
        out.append(
            {
                "code": entry["code"],
                "family": entry["family"],
                "description": entry["description"],
                "features": entry["features"],
                "value_text": _value_text(entry["family"], entry["values"]),
                "contribution": entry["contribution"],
            }
        )
    return out


def select_rows(
    scores: np.ndarray, rows: Sequence[int] | None, threshold: float, max_rows: int
) -> list[int]:
    if rows:
        bad = [r for r in rows if r < 0 or r >= len(scores)]
        if bad:
            raise ValueError(f"row positions out of range 0..{len(scores) - 1}: {bad}")
        return list(rows)
    flagged = np.flatnonzero(scores >= threshold)
    ranked = sorted(flagged.tolist(), key=lambda r: (-scores[r], r))
    return ranked[:max_rows]


def explain_frame(
    booster,
    frame: pd.DataFrame,
    feature_columns: Sequence[str],
    label_column: str | None = None,
    top_k: int = 5,
    threshold: float = 0.5,
    rows: Sequence[int] | None = None,
    max_rows: int = 20,
    id_column: str | None = None,
    tolerance: float = 1e-3,
) -> dict:
    """Compute the ``explainability.json`` content (without the model/data provenance)."""
    if top_k < 1:
        raise ValueError("top_k must be >= 1")
    if id_column is not None and id_column not in frame.columns:
        raise ValueError(f"id column {id_column!r} not in data")
    if (
        id_column is None
        and common.ID_COLUMN in frame.columns
        and common.ID_COLUMN not in feature_columns
    ):
        id_column = common.ID_COLUMN  # the application id preprocess passes through
    contributions, bias, margin = shap_values(booster, frame, feature_columns)
    additivity = check_additivity(contributions, bias, margin, tolerance)
    # The model's own probability output, exactly as evaluate.py computes it.
    scores = np.asarray(
        booster.predict(common.make_dmatrix(frame, feature_columns, booster)), dtype=np.float64
    )
    values = frame.loc[:, list(feature_columns)].to_numpy(dtype=np.float64)
    decisions = []
    for r in select_rows(scores, rows, threshold, max_rows):
        decisions.append(
            {
                "row": int(r),
                "id": None if id_column is None else common.to_jsonable(frame[id_column].iloc[r]),
                "application_id": None
                if id_column is None
                else common.to_jsonable(frame[id_column].iloc[r]),
                "score": float(scores[r]),
                "margin": float(margin[r]),
                "predicted_label": int(scores[r] >= threshold),
                "label": None if label_column is None else int(frame[label_column].iloc[r]),
                "base_value": float(bias[r]),
                "top_reasons": top_reasons(contributions[r], values[r], feature_columns, top_k),
                "reason_codes": reason_codes(contributions[r], values[r], feature_columns, top_k),
            }
        )
    return {
        "schema_version": "1.0",
        "step": "explain",
        "method": "xgboost_tree_shap",
        "output_space": "log_odds",
        "n_rows": int(len(frame)),
        "n_features": len(feature_columns),
        "base_value": float(bias.mean()) if len(bias) else None,
        "additivity_check": additivity,
        "global_importance": global_importance(contributions, feature_columns),
        "decisions": decisions,
        "parameters": {
            "top_k": top_k,
            "threshold": threshold,
            "max_rows": max_rows,
            "rows": list(rows) if rows else None,
        },
    }


def render_markdown(report: dict, top_features: int = 10) -> str:
    lines = [
        "# Credit-default model: explainability report",
        "",
        "Method: exact TreeSHAP from XGBoost (`pred_contribs`), in log-odds. "
        "Rows explained: {:d}; features: {:d}; base value (bias): {:.4f}.".format(
            int(report["n_rows"]), int(report["n_features"]), report["base_value"] or 0.0
        ),
        "Additivity check (contributions + bias = margin, every row): passed, max error "
        "{:.2e}.".format(report["additivity_check"]["max_abs_error"]),
        "",
        "## Global importance (mean |SHAP|)",
        "",
        "| rank | feature | mean abs SHAP | share | mean SHAP |",
        "| ---: | --- | ---: | ---: | ---: |",
    ]
    for item in report["global_importance"][:top_features]:
        lines.append(
            "| {:d} | {} | {:.4f} | {:.1f}% | {:+.4f} |".format(
                int(item["rank"]),
                item["feature"],
                item["mean_abs_shap"],
                100 * item["share"],
                item["mean_shap"],
            )
        )
    lines += ["", "## Reasons for individual decisions", ""]
    if not report["decisions"]:
        lines.append("No row selected (no row predicted to default at the threshold).")
    for decision in report["decisions"]:
        ident = (
            ""
            if decision["application_id"] is None
            else " (application {})".format(decision["application_id"])
        )
        lines.append(
            "- Row {:d}{}: probability of default {:.3f}, predicted {}.".format(
                int(decision["row"]),
                ident,
                decision["score"],
                "default" if decision["predicted_label"] else "no default",
            )
        )
        if not decision["reason_codes"]:
            lines.append("  - No feature pushes this row toward default.")
        for reason in decision["reason_codes"]:
            lines.append(
                "  - {} {}: {}".format(reason["code"], reason["description"], reason["value_text"])
            )
    return "\n".join(lines) + "\n"


def run(
    model_path: Path,
    data_path: Path,
    output_dir: Path,
    label_column: str = common.LABEL_COLUMN,
    top_k: int = 5,
    threshold: float = 0.5,
    rows: Sequence[int] | None = None,
    max_rows: int = 20,
    id_column: str | None = None,
) -> dict:
    booster, model_info = common.load_booster(Path(model_path))
    data_files = common.list_csv_files(Path(data_path))
    frame = common.read_csv_with_header(Path(data_path))
    features = common.model_feature_columns(frame, label_column, booster)
    report = explain_frame(
        booster, frame, features, label_column, top_k, threshold, rows, max_rows, id_column
    )
    report["model"] = {
        k: model_info[k] for k in ("model_sha256", "archive_sha256", "xgboost_version")
    }
    report["data"] = {
        "sha256": common.sha256_files(data_files),
        "label_column": label_column,
        "feature_columns": features,
    }
    output_dir = Path(output_dir)
    common.write_json(output_dir / EXPLAINABILITY_FILENAME, report)
    (output_dir / REPORT_FILENAME).write_text(render_markdown(report), encoding="utf-8")
    return report


def _int_list(text: str) -> list[int]:
    return [int(p) for p in text.split(",") if p.strip()]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description="Explain the credit-default model with TreeSHAP.")
    parser.add_argument("--model", default="/opt/ml/processing/input/model")
    parser.add_argument("--data", default="/opt/ml/processing/input/test")
    parser.add_argument("--output-dir", default="/opt/ml/processing/explainability")
    parser.add_argument("--label-column", default=common.LABEL_COLUMN)
    parser.add_argument("--top-k", type=int, default=5)
    parser.add_argument("--threshold", type=float, default=0.5)
    parser.add_argument(
        "--rows", type=_int_list, default=None, help="comma-separated 0-based row positions"
    )
    parser.add_argument("--max-rows", type=int, default=20)
    parser.add_argument("--id-column", default=None, help="pass-through column identifying a row")
    parser.add_argument("--log-level", default="INFO")
    return parser


def main(argv: Sequence[str] | None = None) -> dict:
    args = build_parser().parse_args(argv)
    common.configure_logging(args.log_level)
    report = run(
        Path(args.model),
        Path(args.data),
        Path(args.output_dir),
        args.label_column,
        args.top_k,
        args.threshold,
        args.rows,
        args.max_rows,
        args.id_column,
    )
    common.LOG.info(
        "explainability: top features %s, %d decisions explained",
        [g["feature"] for g in report["global_importance"][:5]],
        len(report["decisions"]),
    )
    return report


if __name__ == "__main__":  # pragma: no cover
    main(sys.argv[1:])
