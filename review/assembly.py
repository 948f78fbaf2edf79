"""Read a synthesized cloud assembly: every stack template of every environment, and the
construct tree. Nothing here knows which stacks or resources the platform has today."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable


@dataclass(frozen=True)
class Resource:
    env: str
    stack: str  # stage-relative stack id, e.g. "Foundation"
    logical_id: str
    type: str
    properties: dict
    path: str  # construct path from aws:cdk:path, e.g. "dev/Foundation/Network/Vpc/Resource"

    @property
    def props(self) -> dict:
        return self.properties

    @property
    def short_path(self) -> str:
        """Construct path relative to the stage, without the trailing L1 ``/Resource``."""
        rel = self.path.split("/", 1)[-1] if "/" in self.path else self.path
        return rel[: -len("/Resource")] if rel.endswith("/Resource") else rel


@dataclass
class Environment:
    name: str
    templates: dict[str, dict] = field(default_factory=dict)  # stack id -> template

    @property
    def resources(self) -> list[Resource]:
        # Built once per content of ``templates`` (the controls ask ~300 times; with 500 users
        # rebuilding took ~1 s of the review pack). The key notices added or removed stacks
        # and resources, so a caller that edits templates gets a fresh list.
        key = tuple(
            (stack, id(template), len(template.get("Resources") or {}))
            for stack, template in self.templates.items()
        )
        cached = self.__dict__.get("_resources_cache")
        if cached is not None and cached[0] == key:
            return list(cached[1])
        out = self._build_resources()
        self.__dict__["_resources_cache"] = (key, out)
        return list(out)

    def _build_resources(self) -> list[Resource]:
        out = []
        for stack, template in self.templates.items():
            for logical_id, body in (template.get("Resources") or {}).items():
                out.append(Resource(
                    env=self.name, stack=stack, logical_id=logical_id,
                    type=body.get("Type", "?"), properties=body.get("Properties") or {},
                    path=(body.get("Metadata") or {}).get("aws:cdk:path", f"{self.name}/{stack}/{logical_id}"),
                ))
        return out

    def of_type(self, *types: str) -> list[Resource]:
        return [r for r in self.resources if r.type in types]


@dataclass
class Assembly:
    outdir: Path
    environments: dict[str, Environment]
    tree: dict | None  # root node of tree.json with sub-tree references resolved

    @property
    def names(self) -> list[str]:
        return list(self.environments)


def from_templates(templates: dict[str, dict]) -> dict[str, Environment]:
    """{"dev/Foundation": template} -> environments (what tests and SynthResult hold)."""
    envs: dict[str, Environment] = {}
    for key, template in templates.items():
        env, _, stack = key.partition("/")
        envs.setdefault(env, Environment(env)).templates[stack or env] = template
    return envs


def _read(path: Path) -> Any:
    return json.loads(path.read_text())


def _stacks_of(directory: Path) -> Iterable[tuple[str, dict]]:
    manifest = _read(directory / "manifest.json")
    for artifact in (manifest.get("artifacts") or {}).values():
        if artifact.get("type") == "aws:cloudformation:stack":
            display = artifact.get("displayName", "")
            template = _read(directory / artifact["properties"]["templateFile"])
            yield display, template
        elif artifact.get("type") == "cdk:cloud-assembly":
            yield from _stacks_of(directory / artifact["properties"]["directoryName"])


def _resolve_tree(outdir: Path, node: dict, cache: dict[str, dict]) -> dict:
    """Large apps split tree.json into trees-N.json forests; a node holding ``fileName``
    is a reference to a sub-tree stored there."""
    if node.get("fileName") and "treeId" in node:
        forest = cache.setdefault(node["fileName"], _read(outdir / node["fileName"]))
        node = forest["forest"][node["treeId"]]
    children = node.get("children") or {}
    if children:
        node = dict(node)
        node["children"] = {k: _resolve_tree(outdir, v, cache) for k, v in children.items()}
    return node


def load_assembly(outdir: Path | str) -> Assembly:
    outdir = Path(outdir)
    stacks = dict(_stacks_of(outdir))
    if not stacks:
        raise FileNotFoundError(f"{outdir}: no CloudFormation stacks in this assembly (run `make synth`)")
    tree_file = outdir / "tree.json"
    tree = _resolve_tree(outdir, _read(tree_file)["tree"], {}) if tree_file.exists() else None
    return Assembly(outdir=outdir, environments=from_templates(stacks), tree=tree)


# --- small helpers shared by the analyses -------------------------------------------------

def refs(value: Any) -> set[str]:
    """Logical ids referenced by Ref / Fn::GetAtt anywhere inside ``value``."""
    found: set[str] = set()
    if isinstance(value, dict):
        for key, inner in value.items():
            if key == "Ref" and isinstance(inner, str):
                found.add(inner)
            elif key == "Fn::GetAtt":
                target = inner[0] if isinstance(inner, list) else str(inner).split(".")[0]
                found.add(target)
            else:
                found |= refs(inner)
    elif isinstance(value, list):
        for inner in value:
            found |= refs(inner)
    return found


def as_list(value: Any) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def render_value(value: Any) -> str:
    """A CloudFormation value as a short readable string (intrinsics kept recognisable)."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and len(value) == 1:
        (key, inner), = value.items()
        if key == "Ref":
            return f"${{{inner}}}"
        if key == "Fn::GetAtt":
            return "${" + ".".join(inner if isinstance(inner, list) else [inner]) + "}"
        if key == "Fn::Join":
            sep, parts = inner
            return sep.join(render_value(p) for p in parts)
        if key == "Fn::Sub":
            return inner if isinstance(inner, str) else inner[0]
        if key == "Fn::ImportValue":
            return f"import:{render_value(inner)}"
    return json.dumps(value, sort_keys=True)
