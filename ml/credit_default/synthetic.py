"""Seeded synthetic credit-card default data with the UCI schema.

The columns follow the UCI "default of credit card clients" data set (label renamed to
``default``): LIMIT_BAL, SEX (1 male, 2 female), EDUCATION (1 graduate school,
2 university, 3 high school, 4 other), MARRIAGE (1 married, 2 single, 3 other), AGE,
PAY_0, PAY_2..PAY_6 (repayment status: -2 no consumption, -1 paid in full, 0 revolving,
1..8 months of delay), BILL_AMT1..6, PAY_AMT1..6.

The label is drawn from a logistic model of the *observed* features (recent repayment
delay, utilisation, share of the bill repaid, credit limit, age), so a model can learn it
(a gradient-boosted model reaches a test AUC of roughly 0.8-0.85). ``facet_effect`` adds a
log-odds shift for the rows where ``facet_column == facet_value`` so bias checks have a
known, controllable disparity (0.0 means the facet has no direct effect on the label).

``dirty_fraction`` > 0 injects the data-quality problems ``preprocess.py`` must handle:
undocumented category codes, missing values, impossible ages, extreme bill amounts and
duplicated rows.

Run: ``python synthetic.py --rows 5000 --seed 7 --output /tmp/credit.csv``
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

try:  # package import (tests, ``python -m credit_default.synthetic``)
    from . import _common as common
except ImportError:  # script next to _common.py (SageMaker, ``python synthetic.py``)
    import _common as common  # type: ignore[no-redef]


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def generate(
    n_rows: int = 2000,
    seed: int = 0,
    facet_column: str = "SEX",
    facet_value: float = 2,
    facet_effect: float = 0.0,
    dirty_fraction: float = 0.0,
) -> pd.DataFrame:
    """Return a DataFrame with ``ID``, ``default``, then the 23 UCI feature columns."""
    if n_rows < 10:
        raise ValueError("n_rows must be at least 10")
    if facet_column not in common.FEATURE_COLUMNS:
        raise ValueError(f"facet_column {facet_column!r} is not a feature column")
    if not 0.0 <= dirty_fraction < 0.5:
        raise ValueError("dirty_fraction must be in [0, 0.5)")
    rng = np.random.default_rng(seed)
    n = n_rows

    sex = rng.choice([1, 2], size=n, p=[0.4, 0.6])
    education = rng.choice([1, 2, 3, 4], size=n, p=[0.35, 0.47, 0.16, 0.02])
    marriage = rng.choice([1, 2, 3], size=n, p=[0.45, 0.53, 0.02])
    age = np.clip(np.round(21 + rng.gamma(shape=3.0, scale=4.5, size=n)), 21, 79).astype(int)

    log_limit = (
        np.log(120_000) + 0.25 * (2 - education) + 0.012 * (age - 35) + rng.normal(0, 0.65, n)
    )
    limit_bal = np.clip(np.round(np.exp(log_limit) / 10_000) * 10_000, 10_000, 1_000_000).astype(
        int
    )

    # Latent financial stress drives repayment status, utilisation and repayment share.
    stress = rng.normal(0, 1, n) + 0.15 * (education - 2)
    pay_status = np.empty((n, 6), dtype=int)
    previous = np.zeros(n)
    for month in range(6):  # month 0 is the most recent (PAY_0)
        raw = 0.55 * stress + 0.35 * previous + rng.normal(0, 0.75, n) - 0.35
        previous = raw
        pay_status[:, month] = np.clip(np.round(raw), -2, 8)

    utilisation = np.empty((n, 6))
    for month in range(6):
        utilisation[:, month] = _sigmoid(0.9 * stress + rng.normal(-0.4, 0.9, n)) * 1.05
    bills = np.round(utilisation * limit_bal[:, None]).astype(int)
    refund = rng.random((n, 6)) < 0.02  # a few customers in credit (negative bill)
    bills[refund] = -np.round(rng.uniform(0, 2_000, refund.sum())).astype(int)

    repay_share = np.clip(_sigmoid(-0.9 * stress[:, None] + rng.normal(-0.6, 1.0, (n, 6))), 0, 1)
    # PAY_AMTk repays (part of) the statement of the month before: BILL_AMT(k+1).
    previous_bill = np.concatenate([bills[:, 1:], bills[:, -1:]], axis=1)
    pay_amounts = np.round(np.maximum(previous_bill, 0) * repay_share).astype(int)

    frame = pd.DataFrame(
        {
            "LIMIT_BAL": limit_bal,
            "SEX": sex,
            "EDUCATION": education,
            "MARRIAGE": marriage,
            "AGE": age,
        }
    )
    for i, column in enumerate(common.PAY_STATUS_COLUMNS):
        frame[column] = pay_status[:, i]
    for i, column in enumerate(common.BILL_AMOUNT_COLUMNS):
        frame[column] = bills[:, i]
    for i, column in enumerate(common.PAY_AMOUNT_COLUMNS):
        frame[column] = pay_amounts[:, i]

    util_recent = np.clip(bills[:, 0] / limit_bal, -0.2, 1.5)
    repaid_recent = np.clip(pay_amounts[:, 0] / np.maximum(bills[:, 1], 1), 0, 1)
    logit = (
        -1.40
        + 1.20 * np.clip(pay_status[:, 0], -1, 4)
        + 0.40 * np.clip(pay_status[:, 1], -1, 4)
        + 1.50 * (util_recent - 0.4)
        - 1.80 * (repaid_recent - 0.3)
        - 0.25 * np.log(limit_bal / 100_000)
        + 0.010 * (age - 35)
    )
    facet_mask = frame[facet_column].to_numpy() == facet_value
    logit = logit + facet_effect * facet_mask
    frame.insert(0, common.LABEL_COLUMN, (rng.random(n) < _sigmoid(logit)).astype(int))

    # Application id (the UCI data set's ``ID`` column): passed through to the explanations.
    frame.insert(0, common.ID_COLUMN, np.arange(1, n + 1))
    if dirty_fraction > 0:
        frame = _inject_quality_problems(frame, rng, dirty_fraction)
    return frame[[common.ID_COLUMN] + common.ALL_COLUMNS]


def _inject_quality_problems(
    frame: pd.DataFrame, rng: np.random.Generator, fraction: float
) -> pd.DataFrame:
    frame = frame.copy()
    n = len(frame)
    k = max(1, int(round(fraction * n)))

    def pick() -> np.ndarray:
        return rng.choice(n, size=k, replace=False)

    # Undocumented codes that exist in the real UCI data.
    frame.loc[pick(), "EDUCATION"] = rng.choice([0, 5, 6], size=k)
    frame.loc[pick(), "MARRIAGE"] = 0
    # Missing values (columns become float).
    for column in ("LIMIT_BAL", "AGE", "BILL_AMT2", "PAY_AMT3", "PAY_2"):
        frame[column] = frame[column].astype(float)
        frame.loc[pick(), column] = np.nan
    # Impossible ages and extreme statements.
    frame.loc[pick(), "AGE"] = rng.choice([0.0, 150.0, 999.0], size=k)
    frame["BILL_AMT1"] = frame["BILL_AMT1"].astype(float)
    frame.loc[pick(), "BILL_AMT1"] = frame["BILL_AMT1"].abs().max() * rng.uniform(20, 50, size=k)
    # Exact duplicates appended at random positions.
    duplicates = frame.iloc[pick()]
    frame = pd.concat([frame, duplicates], ignore_index=True)
    return frame.iloc[rng.permutation(len(frame))].reset_index(drop=True)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5000, help="rows to generate (default 5000)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--facet-column", default="SEX")
    parser.add_argument("--facet-value", type=float, default=2)
    parser.add_argument(
        "--facet-effect", type=float, default=0.0, help="log-odds shift for the facet group"
    )
    parser.add_argument(
        "--dirty-fraction", type=float, default=0.0, help="share of rows given each quality problem"
    )
    parser.add_argument("--output", required=True, help="CSV file to write (with header)")
    return parser


def main(argv: Sequence[str] | None = None) -> Path:
    args = build_parser().parse_args(argv)
    frame = generate(
        n_rows=args.rows,
        seed=args.seed,
        facet_column=args.facet_column,
        facet_value=args.facet_value,
        facet_effect=args.facet_effect,
        dirty_fraction=args.dirty_fraction,
    )
    output = Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(output, index=False)
    print(
        f"wrote {len(frame)} rows to {output} "
        f"(default rate {frame[common.LABEL_COLUMN].mean():.3f})"
    )
    return output


if __name__ == "__main__":  # pragma: no cover
    main(sys.argv[1:])
