"""docs/model-governance.md states the shipped thresholds and the workflow's states: this
test fails when the page, config/platform.yaml or the code stop agreeing."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from cdk_constructs._training_workflow_definition import build_definition
from stacks.training_stack import _governance_settings

ROOT = Path(__file__).resolve().parents[1]
DOC = (ROOT / "docs" / "model-governance.md").read_text()
sys.path.insert(0, str(ROOT / "lambda" / "model_quality_metrics"))


def _bold(value) -> bool:
    return f"**{value}**" in DOC or re.search(rf"\*\*[^*]*\b{re.escape(str(value))}\*\*", DOC) is not None


def test_quality_and_overfitting_thresholds(sample_config) -> None:
    gate = sample_config.training.gate
    assert f"**{gate.metric.upper()} >= {gate.threshold}**" in DOC
    assert f"**gap <= {sample_config.training.governance.max_auc_gap}**" in DOC


def test_bias_bounds_and_facets(sample_config) -> None:
    governance = sample_config.training.governance
    for metric, direction, bound in governance.bias_gate.conditions():
        sign = ">=" if direction == "min" else "<="
        assert re.search(rf"`{metric}`[^|]*\| \*\*{sign} {bound}\*\*", DOC), metric
    assert f"**{', '.join(governance.protected_attributes)}**" in DOC
    facet = sample_config.training.facet
    assert f"**{facet.column} = {','.join(facet.values)}**" in DOC
    for spec in governance.bias_gate.additional_facets:
        assert f"**{spec}**" in DOC


def test_model_card_and_monitoring_figures(sample_config) -> None:
    card = sample_config.training.governance.model_card
    assert _bold(card.risk_rating) and _bold(card.decision_threshold)
    serving = sample_config.serving
    assert f"**{serving.champion_challenger_margin}**" in DOC
    assert f"**> {serving.drift_threshold}**" in DOC
    assert f"**AUC {serving.quality_tolerances['auc']}**" in DOC


def test_evidence_rule_figures() -> None:
    import model_quality_metrics_compare as compare

    assert f"**{compare.MIN_LABELLED_ROWS}**" in DOC and f"**{compare.MIN_CLASS_ROWS}**" in DOC
    assert f"**{compare.CONFIDENCE:.0%}**".replace("%", " %") in DOC
    assert set(compare.PREVALENCE_INVARIANT) == {"auc", "recall"} and "only AUC and recall" in DOC


@pytest.fixture(scope="module")
def training_states(sample_config) -> set[str]:
    from tests.constructs.test_training_workflow_definition import SETTINGS
    from dataclasses import replace

    settings = replace(SETTINGS, **_governance_settings(sample_config.training))
    return set(build_definition(settings)["States"])


def test_named_states_exist(training_states) -> None:
    named = set(re.findall(r"`([A-Z][A-Za-z]+(?:Gate|Failed))`", DOC))
    assert {"QualityGate", "OverfitGate", "BiasGate", "BiasGateFailed"} <= named
    assert named <= training_states
    from tests.test_workflow_decisions import QUALITY

    assert "NotifyInsufficientEvidence" in QUALITY
