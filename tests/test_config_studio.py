"""Configuration of the data scientists' workspace (issue #15): ``workspace`` per environment
and its Studio settings, with readable errors."""

from __future__ import annotations

import copy

import pytest

from platform_config import ConfigError, parse_config
from platform_config._model import DEFAULT_STUDIO_INSTANCE_TYPES


def _parse(data: dict):
    return parse_config(data, "config/platform.yaml")


def _studio_in_dev(data: dict) -> dict:
    data = copy.deepcopy(data)
    data["environments"]["dev"]["workspace"] = "studio"
    return data


def test_workspace_defaults_to_notebook_instances(sample_config_data) -> None:
    data = copy.deepcopy(sample_config_data)
    for env in data["environments"].values():
        env.pop("workspace", None)
    config = _parse(data)
    dev = config.environment("dev")
    assert dev.workspace == "notebook_instance"
    assert dev.notebook_instances_enabled and not dev.studio_enabled


def test_studio_is_chosen_per_environment(sample_config_data) -> None:
    config = _parse(_studio_in_dev(sample_config_data))
    assert config.environment("dev").studio_enabled
    assert not config.environment("dev").notebook_instances_enabled
    # preprod and prod keep what they have: no workspace at all (notebooks_enabled false)
    assert not config.environment("prod").studio_enabled
    assert config.environment("dev").studio.auth_mode == "IAM"


def test_studio_needs_notebooks_enabled(sample_config_data) -> None:
    data = _studio_in_dev(sample_config_data)
    data["environments"]["dev"]["notebooks_enabled"] = False
    env = _parse(data).environment("dev")
    assert not env.studio_enabled and not env.notebook_instances_enabled


@pytest.mark.parametrize("mutate, fragments", [
    (lambda e: e.__setitem__("workspace", "jupyterhub"),
     ["environments.dev.workspace", "'jupyterhub' is not a workspace", "'studio'"]),
    (lambda e: e.__setitem__("studio", {"auth_mode": "SAML"}),
     ["environments.dev.studio.auth_mode"]),
    (lambda e: e.__setitem__("studio", {"instance_types": []}),
     ["environments.dev.studio.instance_types", "at least one"]),
    (lambda e: e.__setitem__("studio", {"instance_types": ["m5.large"]}),
     ["environments.dev.studio.instance_types", "'m5.large' is not a SageMaker instance type"]),
    (lambda e: e.__setitem__("studio", {"instance_types": ["ml.t3.medium", "ml.t3.medium"]}),
     ["environments.dev.studio.instance_types", "twice"]),
    (lambda e: e.__setitem__("studio", {"root_access": "Enabled"}),
     ["environments.dev.studio.root_access"]),
], ids=["unknown workspace", "bad auth mode", "no instance type", "bad instance type",
        "duplicate instance type", "unknown studio key"])
def test_bad_studio_settings_are_refused_naming_the_field(sample_config_data, mutate,
                                                          fragments) -> None:
    data = _studio_in_dev(sample_config_data)
    mutate(data["environments"]["dev"])
    with pytest.raises(ConfigError) as caught:
        _parse(data)
    message = str(caught.value)
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in:\n{message}"


def test_a_persons_default_instance_type_must_be_approved_for_studio(sample_config_data) -> None:
    data = _studio_in_dev(sample_config_data)
    data["environments"]["dev"]["studio"] = {"instance_types": ["ml.t3.medium"]}
    with pytest.raises(ConfigError) as caught:
        _parse(data)
    message = str(caught.value)
    # raj-patel's ml.m5.xlarge is not approved; jane-smith's ml.t3.medium is
    assert "users[1].notebook_instance_type" in message
    assert "ml.m5.xlarge is not one of environments.dev.studio.instance_types" in message
    assert "users[0]" not in message


def test_the_same_instance_type_is_fine_where_the_environment_has_no_studio(
        sample_config_data) -> None:
    data = copy.deepcopy(sample_config_data)
    data["environments"]["dev"]["workspace"] = "notebook_instance"
    data["environments"]["dev"]["studio"] = {"instance_types": ["ml.t3.medium"]}
    assert _parse(data).environment("dev").notebook_instances_enabled


def test_user_names_are_valid_studio_user_profile_names(sample_config_data) -> None:
    import re

    # AWS's pattern for UserProfileName (botocore sagemaker service model)
    import botocore.session

    model = botocore.session.get_session().get_service_model("sagemaker")
    pattern = model.shape_for("UserProfileName").metadata["pattern"]
    max_length = model.shape_for("UserProfileName").metadata["max"]
    config = _parse(_studio_in_dev(sample_config_data))
    for user in config.users:
        assert re.fullmatch(pattern, user.name) and len(user.name) <= max_length
    # a user name the platform accepts is always a valid profile name (24 <= 63 characters,
    # lower-case letters, digits and single hyphens)
    from platform_config._model import USER_NAME_MAX, _USER_NAME_RE
    assert USER_NAME_MAX <= max_length
    assert _USER_NAME_RE.pattern.startswith("^[a-z]")


def test_default_studio_instance_types_are_studio_app_instance_types() -> None:
    import botocore.session

    model = botocore.session.get_session().get_service_model("sagemaker")
    allowed = set(model.shape_for("AppInstanceType").enum)
    assert set(DEFAULT_STUDIO_INSTANCE_TYPES) <= allowed


def test_a_too_long_studio_domain_name_is_refused(sample_config_data) -> None:
    from platform_config._naming import ResourceNames, environment_names

    names = ResourceNames("mlp", "dev", "111111111111", "eu-west-2")
    studio = {n.kind for n in environment_names(names, model_name=None, studio=True)}
    assert {"SageMaker domain", "SageMaker Studio lifecycle configuration"} <= studio
    plain = {n.kind for n in environment_names(names, model_name=None)}
    assert "SageMaker domain" not in plain


def test_studio_idle_shutdown_respects_sagemakers_minimum(sample_config_data) -> None:
    import botocore.session

    from platform_config._model import STUDIO_MIN_IDLE_MINUTES

    model = botocore.session.get_session().get_service_model("sagemaker")
    assert model.shape_for("IdleTimeoutInMinutes").metadata["min"] == STUDIO_MIN_IDLE_MINUTES
    data = _studio_in_dev(sample_config_data)
    data["environments"]["dev"]["notebook_idle_minutes"] = 30
    with pytest.raises(ConfigError) as caught:
        _parse(data)
    assert "environments.dev.notebook_idle_minutes" in str(caught.value)
    assert "60 minutes at the earliest" in str(caught.value)
    # notebook instances stop themselves (lifecycle script): 30 minutes stays valid there
    data["environments"]["dev"]["workspace"] = "notebook_instance"
    assert _parse(data).environment("dev").notebook_idle_minutes == 30


def test_the_sample_configuration_puts_dev_on_studio(sample_config) -> None:
    """Issue #15: the sample configuration runs Studio in dev; preprod and prod have no
    workspace (notebooks_enabled: false)."""
    assert sample_config.environment("dev").workspace == "studio"
    assert sample_config.environment("dev").studio_enabled
    for name in ("preprod", "prod"):
        assert not sample_config.environment(name).notebooks_enabled
