"""Clean, split and lay out the credit-default data for SageMaker XGBoost.

Runs as a SageMaker processing job (scikit-learn processing image) or locally.

Reads
    ``--input`` (default ``/opt/ml/processing/input/data``): one CSV with a header, or a
    folder whose ``*.csv`` files (same header) are concatenated in name order. Required
    columns: the label (``--label-column``, default ``default``) and the 23 UCI features.
    Other columns are dropped unless listed in ``--passthrough-columns``.

Writes (under ``--output-dir``, default ``/opt/ml/processing``; one ProcessingOutput each)
    ``train/train.csv``            label first, then the model features; no header, no index
    ``validation/validation.csv``  same layout (the SageMaker built-in XGBoost CSV format)
    ``test/test.csv``              WITH a header: label, model features (training order), then
                                   the facet / pass-through columns (below)
    ``baseline/baseline.csv``      WITH a header: the training rows in the request layout
                                   (protected attributes, then the model features), no label
                                   -- the data-quality baseline (what the endpoint gets)
    ``serving/model.tar.gz``       container 1 of the serving pipeline: ``code/serve_drop.py``
                                   and ``serving_columns.json`` (which request positions are
                                   the protected attributes it drops before the model)
    ``facets/{train,validation,test}_facets.csv``  WITH a header: the id (``--id-column``),
                                   the protected attributes and other excluded features,
                                   ``AGE_BAND``, the pass-through columns; row i belongs to
                                   row i of the split file (the bias step joins them)
    ``params/preprocess_params.json``  every parameter, the cleaning counts, the values fitted
                                   on the training split, row counts, class balance per
                                   split, SHA-256 of the input and of every output file.

Protected attributes (``--protected-attributes``, default SEX, AGE, MARRIAGE) are kept out
of the model's features and written to the facet files, so the bias step still evaluates
them; AGE is also banded (``--age-bands`` edges) into ``AGE_BAND``. The facet files hold the
cleaned values before imputation (a missing attribute stays missing).

Cleaning (whole data set, before the split; nothing here is learnt from the data)
    * values that do not parse as numbers become missing;
    * rows whose label is missing or not 0/1 are dropped;
    * exact duplicate rows are dropped (first kept);
    * rows whose SEX is not 1/2 are dropped (it is the default bias facet: guessing it
      would corrupt the bias report);
    * EDUCATION codes outside 1-4 (0, 5, 6 occur in the UCI data) and missing values map to
      4 "other"; MARRIAGE codes outside 1-3 map to 3 "other";
    * PAY_* repayment status is rounded and clipped to the documented range -2..8;
    * impossible values become missing: AGE outside 18-100, LIMIT_BAL <= 0, PAY_AMT* < 0.

Split: stratified on the label, seeded (``--seed``), fractions ``--train-fraction``,
``--validation-fraction``, ``--test-fraction`` (each > 0, summing to 1).

Fitted on the training split only, then applied to every split (no leakage)
    * missing numeric values -> the training median (rounded for integer-coded columns);
    * LIMIT_BAL, BILL_AMT*, PAY_AMT* clipped to the training quantiles ``--clip-quantiles``
      (default 0.001 and 0.999).
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import tarfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

try:
    from . import _common as common
    from . import serve_drop
except ImportError:  # run as a script beside _common.py
    import _common as common  # type: ignore[no-redef]
    import serve_drop  # type: ignore[no-redef]

SCHEMA_VERSION = "1.0"
PARAMS_FILENAME = "preprocess_params.json"
# Container 1 of the serving pipeline (serve_drop.py): its model archive and program.
SERVING_ARCHIVE = "model.tar.gz"
SERVING_PROGRAM = "serve_drop.py"

# Category codes outside ``valid`` (and missing values) are mapped to ``other``.
CATEGORY_RULES: dict[str, dict] = {
    "EDUCATION": {"valid": [1, 2, 3, 4], "other": 4},
    "MARRIAGE": {"valid": [1, 2, 3], "other": 3},
}
# Rows whose value is not one of these are dropped.
REQUIRED_CODES: dict[str, list[int]] = {"SEX": [1, 2]}
# Ordinal repayment status: rounded and clipped to the documented range.
PAY_STATUS_RANGE = (-2, 8)
# Impossible values become missing (then imputed). (lower, upper), inclusive; None = open.
DOMAIN_BOUNDS: dict[str, tuple[float | None, float | None]] = {
    "AGE": (18, 100),
    "LIMIT_BAL": (1, None),
}
DOMAIN_BOUNDS.update({c: (0, None) for c in common.PAY_AMOUNT_COLUMNS})
# Monetary columns winsorised at training-split quantiles.
CLIP_COLUMNS = ["LIMIT_BAL"] + common.BILL_AMOUNT_COLUMNS + common.PAY_AMOUNT_COLUMNS
# Integer-coded columns: imputed with a rounded median and written as integers.
INTEGER_COLUMNS = ["SEX", "EDUCATION", "MARRIAGE", "AGE"] + common.PAY_STATUS_COLUMNS


def clean(
    frame: pd.DataFrame,
    label_column: str = common.LABEL_COLUMN,
    feature_columns: Sequence[str] = tuple(common.FEATURE_COLUMNS),
    passthrough_columns: Sequence[str] = (),
    duplicate_check_ignores: Sequence[str] = (),
) -> tuple[pd.DataFrame, dict]:
    """Apply the data-independent cleaning rules. Returns the clean frame and counts.

    ``duplicate_check_ignores``: columns left out of the exact-duplicate test (a generated
    row-number id, which would make every duplicate unique)."""
    feature_columns = list(feature_columns)
    passthrough_columns = [c for c in passthrough_columns if c not in feature_columns]
    required = [label_column] + feature_columns + passthrough_columns
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise ValueError(f"input is missing required columns: {missing}")
    dropped_columns = [c for c in frame.columns if c not in required]
    out = frame.loc[:, required].copy()
    report: dict = {
        "rows_in": int(len(frame)),
        "dropped_columns": [str(c) for c in dropped_columns],
    }

    numeric = [label_column] + feature_columns
    unparseable = {}
    for column in numeric:
        before = out[column].isna()
        out[column] = pd.to_numeric(out[column], errors="coerce").astype(float)
        count = int((out[column].isna() & ~before).sum())
        if count:
            unparseable[column] = count
    report["unparseable_values_set_missing"] = unparseable

    label_ok = out[label_column].isin([0.0, 1.0])
    report["invalid_label_rows_dropped"] = int((~label_ok).sum())
    out = out.loc[label_ok]

    subset = [c for c in out.columns if c not in duplicate_check_ignores]
    duplicated = out.duplicated(subset=subset, keep="first")
    report["duplicate_rows_dropped"] = int(duplicated.sum())
    out = out.loc[~duplicated]

    invalid_required = {}
    for column, codes in REQUIRED_CODES.items():
        if column not in out.columns:
            continue
        ok = out[column].isin([float(c) for c in codes])
        invalid_required[column] = int((~ok).sum())
        out = out.loc[ok]
    report["invalid_required_code_rows_dropped"] = invalid_required

    mapped = {}
    for column, rule in CATEGORY_RULES.items():
        if column not in out.columns:
            continue
        bad = ~out[column].isin([float(c) for c in rule["valid"]])
        mapped[column] = int(bad.sum())
        out.loc[bad, column] = float(rule["other"])
    report["category_codes_mapped_to_other"] = mapped

    pay_clipped = {}
    low, high = PAY_STATUS_RANGE
    for column in common.PAY_STATUS_COLUMNS:
        if column not in out.columns:
            continue
        values = out[column]
        fixed = values.round().clip(lower=low, upper=high)
        changed = values.notna() & (fixed != values)
        pay_clipped[column] = int(changed.sum())
        out[column] = fixed
    report["pay_status_rounded_or_clipped"] = pay_clipped

    domain = {}
    for column, (lower, upper) in DOMAIN_BOUNDS.items():
        if column not in out.columns:
            continue
        values = out[column]
        bad = pd.Series(False, index=out.index)
        if lower is not None:
            bad |= values < lower
        if upper is not None:
            bad |= values > upper
        domain[column] = int(bad.sum())
        out.loc[bad, column] = np.nan
    report["impossible_values_set_missing"] = domain

    report["rows_out"] = int(len(out))
    out[label_column] = out[label_column].astype(int)
    return out.reset_index(drop=True), report


def split_indices(
    labels: Sequence[int],
    train_fraction: float,
    validation_fraction: float,
    test_fraction: float,
    seed: int,
) -> dict[str, np.ndarray]:
    """Stratified, seeded positional indices for the train / validation / test splits."""
    fractions = (train_fraction, validation_fraction, test_fraction)
    if any(not (0.0 < f < 1.0) for f in fractions):
        raise ValueError(f"each split fraction must be in (0, 1), got {fractions}")
    if abs(sum(fractions) - 1.0) > 1e-9:
        raise ValueError(f"split fractions must sum to 1, got {sum(fractions)}")
    y = np.asarray(labels)
    classes, counts = np.unique(y, return_counts=True)
    if len(classes) != 2:
        raise ValueError(f"the label must have both classes to stratify, found {classes.tolist()}")
    positions = np.arange(len(y))
    rest, test = train_test_split(positions, test_size=test_fraction, stratify=y, random_state=seed)
    relative_validation = validation_fraction / (train_fraction + validation_fraction)
    train, validation = train_test_split(
        rest, test_size=relative_validation, stratify=y[rest], random_state=seed
    )
    splits = {"train": np.sort(train), "validation": np.sort(validation), "test": np.sort(test)}
    for name, index in splits.items():
        if len(np.unique(y[index])) != 2:
            raise ValueError(f"split {name!r} lacks one class; use more data or other fractions")
    return splits


def fit_transform_params(
    train: pd.DataFrame, feature_columns: Sequence[str], clip_quantiles: tuple[float, float]
) -> dict:
    """Medians (for imputation) and clip bounds, fitted on the training split only."""
    low_q, high_q = clip_quantiles
    if not 0.0 <= low_q < high_q <= 1.0:
        raise ValueError(f"clip quantiles must satisfy 0 <= low < high <= 1, got {clip_quantiles}")
    medians = {}
    for column in feature_columns:
        median = train[column].median()
        if pd.isna(median):
            raise ValueError(f"column {column!r} has no values in the training split")
        if column in INTEGER_COLUMNS:
            median = float(np.floor(median + 0.5))
        medians[column] = float(median)
    bounds = {}
    for column in CLIP_COLUMNS:
        if column in feature_columns:
            values = train[column].dropna()
            bounds[column] = [float(values.quantile(low_q)), float(values.quantile(high_q))]
    return {"medians": medians, "clip_bounds": bounds}


def apply_transform(
    frame: pd.DataFrame, feature_columns: Sequence[str], fitted: dict
) -> tuple[pd.DataFrame, dict]:
    """Impute and clip with the fitted values. Returns the frame and per-column counts."""
    out = frame.copy()
    imputed, clipped = {}, {}
    for column in feature_columns:
        missing = out[column].isna()
        if missing.any():
            imputed[column] = int(missing.sum())
            out.loc[missing, column] = fitted["medians"][column]
    for column, (lower, upper) in fitted["clip_bounds"].items():
        values = out[column]
        outside = (values < lower) | (values > upper)
        if outside.any():
            clipped[column] = int(outside.sum())
            out[column] = values.clip(lower=lower, upper=upper)
    for column in feature_columns:
        if column in INTEGER_COLUMNS:
            out[column] = out[column].round().astype("int64")
    return out, {"missing_values_imputed": imputed, "values_clipped": clipped}


def _class_balance(labels: pd.Series) -> dict:
    n = int(len(labels))
    positives = int((labels == 1).sum())
    return {
        "rows": n,
        "positives": positives,
        "negatives": n - positives,
        "positive_rate": positives / n if n else None,
    }


def run(
    input_path: Path,
    output_dir: Path,
    train_fraction: float = 0.7,
    validation_fraction: float = 0.15,
    test_fraction: float = 0.15,
    seed: int = 42,
    label_column: str = common.LABEL_COLUMN,
    passthrough_columns: Sequence[str] = (),
    exclude_features: Sequence[str] = (),
    clip_quantiles: tuple[float, float] = (0.001, 0.999),
    protected_attributes: Sequence[str] = tuple(common.DEFAULT_PROTECTED_ATTRIBUTES),
    age_band_edges: Sequence[float] | None = tuple(common.DEFAULT_AGE_BAND_EDGES),
    id_column: str | None = common.ID_COLUMN,
) -> dict:
    """Run the whole step; returns the ``preprocess_params.json`` content."""
    input_files = common.list_csv_files(Path(input_path))
    raw = common.read_csv_with_header(Path(input_path))
    protected = list(dict.fromkeys(protected_attributes))
    excluded = list(dict.fromkeys(list(protected) + list(exclude_features)))
    unknown_excluded = [c for c in excluded if c not in common.FEATURE_COLUMNS]
    if unknown_excluded:
        raise ValueError(
            "--protected-attributes/--exclude-features name unknown features: {} (features: "
            "{})".format(unknown_excluded, ", ".join(common.FEATURE_COLUMNS))
        )
    model_features = [c for c in common.FEATURE_COLUMNS if c not in excluded]
    if not model_features:
        raise ValueError("no feature left after exclusions")
    id_column = id_column or None
    id_source = None
    if id_column:
        if id_column in common.FEATURE_COLUMNS or id_column == label_column:
            raise ValueError(
                f"--id-column {id_column!r} is a feature or the label; name a pass-through column"
            )
        if id_column in raw.columns:
            id_source = "input_column"
        else:
            raw = raw.copy()
            raw[id_column] = np.arange(1, len(raw) + 1)  # 1-based data row of the input
            id_source = "input_row_number"
            common.LOG.warning(
                "input has no %r column: using the 1-based input row number as the id", id_column
            )
    passthrough = [
        c for c in passthrough_columns if c not in common.FEATURE_COLUMNS and c != id_column
    ]
    band_column = common.AGE_BAND_COLUMN if (age_band_edges and "AGE" in excluded) else None
    if band_column:
        common.age_band_labels(age_band_edges)  # validates the edges before any work
    # The facet / pass-through file: id, protected and excluded attributes, the age band,
    # then the pass-through columns; row i belongs to row i of the split file.
    facet_columns = (
        ([id_column] if id_column else [])
        + excluded
        + ([band_column] if band_column else [])
        + passthrough
    )

    cleaned, cleaning = clean(
        raw,
        label_column,
        common.FEATURE_COLUMNS,
        ([id_column] if id_column else []) + passthrough,
        duplicate_check_ignores=[id_column] if id_source == "input_row_number" else [],
    )
    splits = split_indices(
        cleaned[label_column].to_numpy(), train_fraction, validation_fraction, test_fraction, seed
    )
    fitted = fit_transform_params(
        cleaned.iloc[splits["train"]], common.FEATURE_COLUMNS, clip_quantiles
    )

    output_dir = Path(output_dir)
    outputs, transform_counts, balance = {}, {}, {"clean": _class_balance(cleaned[label_column])}

    def write(key: str, frame: pd.DataFrame, relative: str, header: bool) -> None:
        path = output_dir / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        frame.to_csv(path, index=False, header=header)
        outputs[key] = {
            "path": relative,
            "header": header,
            "columns": [str(c) for c in frame.columns],
            "rows": int(len(frame)),
            "sha256": common.sha256_file(path),
        }

    for name in ("train", "validation", "test"):
        part, counts = apply_transform(cleaned.iloc[splits[name]], common.FEATURE_COLUMNS, fitted)
        transform_counts[name] = counts
        balance[name] = _class_balance(part[label_column])
        # Facet values as cleaned, before imputation: a missing protected attribute stays
        # missing (the bias step leaves such rows out) instead of becoming the median.
        facets = _facet_frame(
            cleaned.iloc[splits[name]],
            excluded,
            id_column,
            band_column,
            age_band_edges,
            passthrough,
        )
        facets = facets.loc[:, facet_columns].reset_index(drop=True)
        model_part = part.loc[:, [label_column] + model_features].reset_index(drop=True)
        if name == "test":
            write(name, pd.concat([model_part, facets], axis=1), "test/test.csv", header=True)
        else:
            write(name, model_part, f"{name}/{name}.csv", header=False)
        write(f"{name}_facets", facets, f"facets/{name}_facets.csv", header=True)
        if name == "train":
            # The data-quality baseline: what the endpoint receives (the request layout:
            # protected attributes, then the model features), headed.
            request = pd.concat(
                [facets.loc[:, protected], model_part.loc[:, model_features]], axis=1
            )
            write("baseline", request, "baseline/baseline.csv", header=True)
    serving = serve_drop.serving_config(protected, model_features)
    outputs["serving"] = _write_serving_archive(output_dir, serving)

    params = {
        "schema_version": SCHEMA_VERSION,
        "step": "preprocess",
        "input": {
            "files": [
                {"name": p.name, "bytes": p.stat().st_size, "sha256": common.sha256_file(p)}
                for p in input_files
            ],
            "sha256": common.sha256_files(input_files),
            "sha256_note": "SHA-256 of the input files' bytes concatenated in name order",
            "rows": int(len(raw)),
            "columns": [
                str(c)
                for c in raw.columns
                if not (id_source == "input_row_number" and c == id_column)
            ],
        },
        "parameters": {
            "train_fraction": train_fraction,
            "validation_fraction": validation_fraction,
            "test_fraction": test_fraction,
            "seed": seed,
            "stratify_on": label_column,
            "label_column": label_column,
            "feature_columns": model_features,
            "protected_attributes": protected,
            "excluded_features": excluded,
            "id_column": id_column,
            "id_source": id_source,
            "age_bands": (
                {
                    "column": band_column,
                    "edges": [int(e) for e in age_band_edges],
                    "labels": common.age_band_labels(age_band_edges),
                }
                if band_column
                else None
            ),
            "facet_columns": facet_columns,
            "request_columns": serving["request_columns"],
            "passthrough_columns": passthrough,
            "clip_quantiles": list(clip_quantiles),
            "clip_columns": [c for c in CLIP_COLUMNS if c in common.FEATURE_COLUMNS],
            "category_rules": CATEGORY_RULES,
            "required_codes": REQUIRED_CODES,
            "pay_status_range": list(PAY_STATUS_RANGE),
            "domain_bounds": {k: list(v) for k, v in DOMAIN_BOUNDS.items()},
        },
        "cleaning": cleaning,
        "fitted_on_train": fitted,
        "transform_counts": transform_counts,
        "row_counts": {
            "input": int(len(raw)),
            "clean": int(len(cleaned)),
            "train": outputs["train"]["rows"],
            "validation": outputs["validation"]["rows"],
            "test": outputs["test"]["rows"],
        },
        "class_balance": balance,
        "outputs": outputs,
        "environment": common.library_versions(),
    }
    common.write_json(output_dir / "params" / PARAMS_FILENAME, params)
    return params


def _write_serving_archive(output_dir: Path, serving: dict) -> dict:
    """Container 1's model archive: the drop script and the served column layout."""
    folder = output_dir / "serving"
    folder.mkdir(parents=True, exist_ok=True)
    archive = folder / SERVING_ARCHIVE
    config = json.dumps(serving, indent=2, sort_keys=True).encode("utf-8")
    script = Path(serve_drop.__file__).read_bytes()
    with tarfile.open(archive, "w:gz") as tar:
        for name, data in (
            (serve_drop.CONFIG_FILENAME, config),
            (f"code/{SERVING_PROGRAM}", script),
        ):
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), 0o644
            tar.addfile(info, io.BytesIO(data))
    return {
        "path": f"serving/{SERVING_ARCHIVE}",
        "members": [serve_drop.CONFIG_FILENAME, f"code/{SERVING_PROGRAM}"],
        "program": SERVING_PROGRAM,
        "request_columns": serving["request_columns"],
        "drop_positions": serving["drop_positions"],
        "sha256": common.sha256_file(archive),
    }


def _facet_frame(
    rows: pd.DataFrame,
    excluded: Sequence[str],
    id_column: str | None,
    band_column: str | None,
    age_band_edges: Sequence[float] | None,
    passthrough: Sequence[str],
) -> pd.DataFrame:
    out = pd.DataFrame(index=rows.index)
    if id_column:
        out[id_column] = rows[id_column]
    for column in excluded:
        values = rows[column]
        # Integer codes stay integers in the CSV (nullable, so a missing value stays empty).
        if values.dropna().apply(float.is_integer).all():
            values = values.round().astype("Int64")
        out[column] = values
    if band_column:
        out[band_column] = common.age_bands(rows["AGE"], age_band_edges)
    for column in passthrough:
        out[column] = rows[column]
    return out


def _float_pair(text: str) -> tuple[float, float]:
    parts = [p for p in text.replace(" ", "").split(",") if p]
    if len(parts) != 2:
        raise argparse.ArgumentTypeError("expected two comma-separated numbers, e.g. 0.001,0.999")
    return float(parts[0]), float(parts[1])


def _name_list(text: str) -> list[str]:
    return [p.strip() for p in text.split(",") if p.strip()]


def _int_list(text: str) -> list[int]:
    return [int(p) for p in _name_list(text)]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description="Clean and split the credit-default data.")
    parser.add_argument(
        "--input", default="/opt/ml/processing/input/data", help="CSV file or folder of CSVs"
    )
    parser.add_argument("--output-dir", default="/opt/ml/processing")
    parser.add_argument("--train-fraction", type=float, default=0.7)
    parser.add_argument("--validation-fraction", type=float, default=0.15)
    parser.add_argument("--test-fraction", type=float, default=0.15)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--label-column", default=common.LABEL_COLUMN)
    parser.add_argument(
        "--passthrough-columns",
        type=_name_list,
        default=[],
        help="comma-separated; kept in the facet files and test.csv",
    )
    parser.add_argument(
        "--exclude-features",
        type=_name_list,
        default=[],
        help=(
            "comma-separated features kept out of the model (still in the facet files and test.csv)"
        ),
    )
    parser.add_argument(
        "--protected-attributes",
        type=_name_list,
        default=list(common.DEFAULT_PROTECTED_ATTRIBUTES),
        help=(
            "comma-separated protected attributes: kept out of the model, kept as bias facets ('' "
            "= none)"
        ),
    )
    parser.add_argument(
        "--age-bands",
        type=_int_list,
        default=list(common.DEFAULT_AGE_BAND_EDGES),
        help="comma-separated AGE band edges for the AGE_BAND facet ('' = no bands)",
    )
    parser.add_argument(
        "--id-column",
        default=common.ID_COLUMN,
        help="application id column passed through ('' = none)",
    )
    parser.add_argument("--clip-quantiles", type=_float_pair, default=(0.001, 0.999))
    parser.add_argument("--log-level", default="INFO")
    return parser


def main(argv: Sequence[str] | None = None) -> dict:
    args = build_parser().parse_args(argv)
    common.configure_logging(args.log_level)
    params = run(
        input_path=Path(args.input),
        output_dir=Path(args.output_dir),
        train_fraction=args.train_fraction,
        validation_fraction=args.validation_fraction,
        test_fraction=args.test_fraction,
        seed=args.seed,
        label_column=args.label_column,
        passthrough_columns=args.passthrough_columns,
        exclude_features=args.exclude_features,
        clip_quantiles=args.clip_quantiles,
        protected_attributes=args.protected_attributes,
        age_band_edges=args.age_bands,
        id_column=args.id_column,
    )
    common.LOG.info("preprocess done: %s", params["row_counts"])
    return params


if __name__ == "__main__":  # pragma: no cover
    main(sys.argv[1:])
