"""Model-governance settings of the training workflow (``training.governance``).

docs/model-governance.md explains each gate and threshold to a model-risk reader. The bias
metric names are the keys of ``$.gate.worst`` in ml/credit_default's ``bias_report.json``
(ml/README.md, "Outputs and arguments contract"): the worst value over every facet group.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

# worst-value key -> (direction, bias.py argument, allowed range of a bound)
BIAS_BOUNDS: dict[str, tuple[str, str, tuple[float, float]]] = {
    "CI_max_abs": ("max", "--ci-max-abs", (0.0, 1.0)),
    "DPL_max_abs": ("max", "--dpl-max-abs", (0.0, 1.0)),
    "DI_min": ("min", "--di-min", (0.0, 1.0)),
    "DI_max": ("max", "--di-max", (1.0, 100.0)),
    "DPPL_max_abs": ("max", "--dppl-max-abs", (0.0, 1.0)),
    "RD_max_abs": ("max", "--rd-max-abs", (0.0, 1.0)),
    "AD_max_abs": ("max", "--ad-max-abs", (0.0, 1.0)),
}
_COLUMN = r"[A-Za-z_][A-Za-z0-9_]{0,63}"
_FACET_RE = re.compile(rf"^{_COLUMN}(=[^=,\s]+(,[^=,\s]+)*|>-?\d+(\.\d+)?)?$")
_COLUMN_RE = re.compile(rf"^{_COLUMN}$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class BiasGateConfig(_Strict):
    """Registration needs every bounded bias metric, over every facet group, within its bound."""

    # Facets evaluated beside training.facet: COLUMN (each value vs the rest),
    # COLUMN=V1,V2 (that group vs the rest) or COLUMN>T.
    additional_facets: list[str] = Field(default_factory=lambda: ["AGE_BAND", "MARRIAGE"])
    # Four-fifths rule for disparate impact; 0.1 on the difference metrics.
    bounds: dict[str, float] = Field(
        default_factory=lambda: {
            "DI_min": 0.8,
            "DI_max": 1.25,
            "DPPL_max_abs": 0.1,
            "RD_max_abs": 0.1,
            "AD_max_abs": 0.1,
        }
    )

    @field_validator("additional_facets")
    @classmethod
    def _facets(cls, value: list[str]) -> list[str]:
        for spec in value:
            if not _FACET_RE.match(spec):
                raise ValueError(
                    f"facet {spec!r}: write COLUMN, COLUMN=V1,V2 or COLUMN>T, "
                    "e.g. AGE_BAND or SEX=2"
                )
        return value

    @field_validator("bounds")
    @classmethod
    def _bounds(cls, value: dict[str, float]) -> dict[str, float]:
        if not value:
            raise ValueError(
                "give at least one bound, e.g. {DI_min: 0.8}: a bias gate that "
                "bounds nothing would pass every model"
            )
        for name, bound in value.items():
            if name not in BIAS_BOUNDS:
                raise ValueError(
                    f"unknown bias metric {name!r}; bound one of {', '.join(BIAS_BOUNDS)}"
                )
            low, high = BIAS_BOUNDS[name][2]
            if (
                isinstance(bound, bool)
                or not isinstance(bound, (int, float))
                or not low < bound <= high
            ):
                raise ValueError(f"bounds.{name}: {bound!r} must be a number in ({low}, {high}]")
        return value

    def conditions(self) -> list[tuple[str, str, float]]:
        """(metric, "min" | "max", bound) in a stable order."""
        return [
            (name, BIAS_BOUNDS[name][0], float(self.bounds[name]))
            for name in BIAS_BOUNDS
            if name in self.bounds
        ]

    def arguments(self) -> list[str]:
        """bias.py's own thresholds, equal to the gate's (its report then agrees)."""
        args: list[str] = []
        for name, _, bound in self.conditions():
            args += [BIAS_BOUNDS[name][1], repr(bound)]
        return args


class ModelCardConfig(_Strict):
    """What the model card says beside the numbers the run measured."""

    risk_rating: Literal["High", "Medium", "Low", "Unknown"] = "High"
    intended_use: str = (
        "Estimate the probability that a credit-card customer defaults next month, to support "
        "(not replace) a credit officer's limit and collection decisions."
    )
    decision_threshold: float = 0.5
    threshold_rationale: str = (
        "0.5 on the predicted default probability: the evaluation metrics, the bias report "
        "and the quality gate are computed at this threshold."
    )

    @field_validator("decision_threshold")
    @classmethod
    def _threshold(cls, value: float) -> float:
        if not 0.0 < value < 1.0:
            raise ValueError(f"must be in (0, 1), got {value}")
        return value

    @field_validator("intended_use", "threshold_rationale")
    @classmethod
    def _text(cls, value: str) -> str:
        if not 10 <= len(value) <= 2000:
            raise ValueError("write 10-2000 characters for the approver to read")
        return value


class GovernanceConfig(_Strict):
    """Protected attributes, the bias and overfitting gates and the model card."""

    # Kept out of the model's features, still evaluated as bias facets.
    protected_attributes: list[str] = Field(default_factory=lambda: ["SEX", "AGE", "MARRIAGE"])
    exclude_features: list[str] = Field(default_factory=list)
    bias_gate: BiasGateConfig = Field(default_factory=BiasGateConfig)
    # train AUC - validation AUC above this: the model memorised its training data.
    max_auc_gap: float = 0.05
    model_card: ModelCardConfig = Field(default_factory=ModelCardConfig)

    @field_validator("protected_attributes", "exclude_features")
    @classmethod
    def _columns(cls, value: list[str]) -> list[str]:
        for column in value:
            if not _COLUMN_RE.match(column):
                raise ValueError(f"{column!r} is not a column name (letters, digits, _)")
        if len(set(value)) != len(value):
            raise ValueError("a column is listed twice")
        return value

    @field_validator("max_auc_gap")
    @classmethod
    def _gap(cls, value: float) -> float:
        if not 0.0 < value < 0.5:
            raise ValueError(f"must be in (0, 0.5), got {value}; e.g. 0.05")
        return value

    @model_validator(mode="after")
    def _no_overlap(self) -> GovernanceConfig:
        both = sorted(set(self.protected_attributes) & set(self.exclude_features))
        if both:
            raise ValueError(
                f"{', '.join(both)} in both protected_attributes and "
                "exclude_features; list each column once"
            )
        return self


def unmonitorable_features(governance: GovernanceConfig, drift_features: list[str]) -> list[str]:
    """Drift-alarmed features that are not model features. Excluded features are not in the
    captured requests; protected attributes are (the serving pipeline drops them before the
    model, for the bias-drift monitor's facets), but the per-feature drift alarms are for the
    model's features only."""
    excluded = set(governance.protected_attributes) | set(governance.exclude_features)
    return [f for f in drift_features if f in excluded]
