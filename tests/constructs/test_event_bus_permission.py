"""EventBusPutPermission under the compliance packs: no deprecation warning on every synth."""

from __future__ import annotations

import pytest
from aws_cdk import App, Environment, Stack, Validations
from cdk_nag import AwsSolutionsChecks

from cdk_constructs.event_bus_permission import EventBusPutPermission


def test_the_packs_read_the_policy_without_a_deprecation_warning(capfd, tmp_path) -> None:
    app = App(outdir=str(tmp_path))
    stack = Stack(app, "S", env=Environment(account="111111111111", region="eu-west-2"))
    permission = EventBusPutPermission(stack, "FromProd", source_account="333333333333")
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    capfd.readouterr()
    app.synth()  # AwsSolutions' EventBridge rule reads the policy's principal
    assert "CfnEventBusPolicy#principal is deprecated" not in capfd.readouterr().err
    assert permission.principal is None
    with pytest.raises(Exception, match="principal is in the statement"):
        permission.principal = "*"
