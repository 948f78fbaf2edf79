"""The bias-drift monitor's baseline, written by the training run's bias step.

SageMaker Clarify's model-bias monitor (``AWS::SageMaker::ModelBiasJobDefinition``, one per
endpoint, cdk_constructs/model_bias_monitor.py) reads two files:

``analysis_config.json`` -- "Parameters to Monitor Bias Drift" (SageMaker developer guide):
    ``headers`` (the captured request columns, then the label the ground truth supplies),
    ``label``, ``label_values_or_threshold`` (the favourable outcome), ``facet`` (a list of
    ``{"name_or_index", "value_or_threshold"}``). The facets come from the captured
    requests: the serving pipeline receives the protected attributes and drops them before
    the model (serve_drop.py), so they are in the data the monitor reads.
``analysis.json`` -- the baseline constraints, in Clarify's ``analysis.json`` layout
    (``post_training_bias_metrics.facets.<facet>[].metrics[]``). "Bias Drift Violations": a
    metric of a monitoring execution that is farther from 0 than its baseline value is a
    violation. The baseline values here are the registration gate's bounds
    (``training.governance.bias_gate.bounds``), not the run's measured values: production
    is flagged when its bias goes beyond what would have blocked registration, and a model
    that measured 0.01 at training is not flagged for 0.02. Only the gate's difference
    metrics with a ``max_abs`` bound (DPPL, RD, AD) are constraints: DI is a ratio whose
    balanced value is 1, so "closer to 0 is better" does not hold for it.

Facet mapping from the gate's facet specs (bias.py ``FacetSpec``) to the monitor:
``COLUMN=V1,V2`` -> that value list; ``COLUMN>T`` -> ``[T]`` (Clarify: a numeric facet's
threshold is the lower bound of the sensitive group); ``COLUMN`` -> no value (Clarify
computes one group per unique value; the constraints list each value seen in training);
the age band column (``AGE_BAND``, preprocess ``--age-bands``) -> ``AGE`` once per band edge
(``AGE > edge``), since the request carries the age, not the band. A spec whose column is
not in the request layout (e.g. an excluded non-protected feature) is listed in
``not_monitored``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

CONFIG_FILENAME = "analysis_config.json"
CONSTRAINTS_FILENAME = "analysis.json"
MONITORED_METRICS = ("DPPL", "RD", "AD")
_DESCRIPTIONS = {
    "DPPL": "Difference in Positive Proportions in Predicted Labels (DPPL)",
    "RD": "Recall Difference (RD)",
    "AD": "Accuracy Difference (AD)",
}


def _text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def monitor_facets(
    specs: Sequence[tuple[str, list[Any] | None, float | None]],
    request_columns: Sequence[str],
    age_bands: dict | None,
    seen_values: dict[str, list[Any]],
) -> tuple[list[dict], dict[str, list[str]], list[str]]:
    """``(facet list, groups per facet for the constraints, specs not monitored)``.

    ``specs``: ``(column, values, threshold)``; ``seen_values``: the training values of each
    facet column (for the one-group-per-value facets)."""
    facets: list[dict] = []
    groups: dict[str, list[str]] = {}
    skipped: list[str] = []
    band_column = (age_bands or {}).get("column")
    for column, values, threshold in specs:
        if band_column and column == band_column and "AGE" in request_columns:
            for edge in age_bands["edges"]:  # type: ignore[index]
                facets.append({"name_or_index": "AGE", "value_or_threshold": [edge]})
                groups.setdefault("AGE", []).append(_text(edge))
            continue
        if column not in request_columns:
            skipped.append(column)
            continue
        if threshold is not None:
            facets.append({"name_or_index": column, "value_or_threshold": [threshold]})
            groups.setdefault(column, []).append(_text(threshold))
        elif values:
            facets.append({"name_or_index": column, "value_or_threshold": list(values)})
            groups.setdefault(column, []).append(",".join(_text(v) for v in values))
        else:
            present = seen_values.get(column) or []
            if len(present) < 2:
                raise ValueError(
                    f"facet {column!r} has fewer than two values in the training data: "
                    "no group to monitor"
                )
            facets.append({"name_or_index": column})
            groups.setdefault(column, []).extend(_text(v) for v in present)
    if not facets:
        raise ValueError(
            "no bias facet is in the served request layout "
            f"({', '.join(request_columns)}): the bias-drift monitor would measure nothing"
        )
    return facets, groups, skipped


def build(
    *,
    request_columns: Sequence[str],
    label: str,
    positive_outcome: Any,
    specs: Sequence[tuple[str, list[Any] | None, float | None]],
    thresholds: dict[str, dict[str, float]],
    age_bands: dict | None,
    seen_values: dict[str, list[Any]],
) -> tuple[dict, dict, dict]:
    """``(analysis_config, constraints, summary)`` for the bias-drift monitor."""
    if label in request_columns:
        raise ValueError(f"the label {label!r} is a request column")
    facets, groups, skipped = monitor_facets(specs, request_columns, age_bands, seen_values)
    bounded = [m for m in MONITORED_METRICS if "max_abs" in thresholds.get(m, {})]
    if not bounded:
        raise ValueError(
            f"no max_abs bound for any of {', '.join(MONITORED_METRICS)}: the bias-drift "
            "constraints would be empty"
        )
    config = {
        "version": "1.0",
        "dataset_type": "text/csv",
        "headers": list(request_columns) + [label],
        "label": label,
        "label_values_or_threshold": [positive_outcome],
        "facet": facets,
    }
    constraints = {
        "version": "1.0",
        "post_training_bias_metrics": {
            "label": label,
            "label_value_or_threshold": _text(positive_outcome),
            "facets": {
                column: [
                    {
                        "value_or_threshold": group,
                        "metrics": [
                            {
                                "name": m,
                                "description": _DESCRIPTIONS[m],
                                "value": float(thresholds[m]["max_abs"]),
                            }
                            for m in bounded
                        ],
                    }
                    for group in column_groups
                ]
                for column, column_groups in groups.items()
            },
        },
    }
    summary = {
        "facets": facets,
        "metrics": bounded,
        "not_monitored": skipped,
        "constraints_are": "the registration gate's max_abs bounds",
    }
    return config, constraints, summary
