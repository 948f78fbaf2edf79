"""Typed, validated platform configuration (one YAML file, one model per environment)."""

from platform_config._model import (
    EnvironmentConfig,
    JobFunction,
    PlatformConfig,
    UserConfig,
)
from platform_config.loader import ConfigError, load_config, parse_config

__all__ = [
    "ConfigError",
    "EnvironmentConfig",
    "JobFunction",
    "PlatformConfig",
    "UserConfig",
    "load_config",
    "parse_config",
]
