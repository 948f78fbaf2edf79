"""Read the YAML file and turn every validation problem into one readable error."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from platform_config.model import PlatformConfig


class ConfigError(ValueError):
    """Bad configuration: raised at synth time with the file, the field path and the fix."""

    def __init__(self, source: str, problems: list[str]):
        self.source = source
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"{source}: invalid platform configuration:\n{lines}")


def _field_path(loc: tuple[Any, ...]) -> str:
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += ("." if path else "") + str(part)
    return path or "(top level)"


def _allowed_keys(loc: tuple[Any, ...]) -> list[str]:
    """Walk the model along ``loc`` to list the keys allowed where an unknown key was found."""
    model: Any = PlatformConfig
    for part in loc[:-1]:
        if isinstance(part, int) or model is None:
            continue
        field = model.model_fields.get(str(part)) if isinstance(model, type) else None
        if field is None:
            continue  # a dict key such as an environment name
        annotation = field.annotation
        candidates = [annotation, *getattr(annotation, "__args__", ())]
        model = next(
            (c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)), None
        )
    if isinstance(model, type) and issubclass(model, BaseModel):
        return sorted(model.model_fields)
    return []


def _describe(error: dict[str, Any]) -> str:
    loc = tuple(error["loc"])
    # pydantic puts the validator name in loc for model validators of nested models.
    path = _field_path(loc)
    kind = error["type"]
    if kind == "extra_forbidden":
        allowed = _allowed_keys(loc)
        hint = f" (allowed here: {', '.join(allowed)})" if allowed else ""
        return f"{path}: unknown key; remove it or fix its spelling{hint}"
    if kind == "missing":
        return f"{path}: required but missing; add it"
    message = error["msg"]
    if message.startswith("Value error, "):
        message = message[len("Value error, ") :]
    elif kind in {"int_parsing", "int_type", "bool_parsing", "bool_type", "list_type",
                  "dict_type", "string_type", "model_type", "enum", "literal_error"}:
        message = f"{message} (got {error.get('input')!r})"
    return f"{path}: {message}"


def parse_config(data: Any, source: str = "<config>") -> PlatformConfig:
    """Validate already-parsed YAML; raises :class:`ConfigError` listing every problem."""
    if not isinstance(data, dict):
        raise ConfigError(source, ["(top level): the file must be a YAML mapping with project, "
                                   "environments, users and notifications"])
    try:
        return PlatformConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(source, [_describe(e) for e in exc.errors()]) from None


def load_config(path: str | Path) -> PlatformConfig:
    """Read and validate a platform YAML file; raises :class:`ConfigError` with readable
    messages (at synth time, never at deploy time)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(str(path), ["file not found; pass CONFIG=path/to/platform.yaml"]) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(str(path), [f"(YAML syntax) {exc}"]) from None
    return parse_config(data, str(path))
