"""Synthesize the app in-process for tests (imported by conftest and by tests)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from platform_config import PlatformConfig


@dataclass
class SynthResult:
    outdir: Path
    templates: dict[str, dict]  # "dev/Foundation" -> template
    app: object

    def template(self, stage: str, stack: str) -> dict:
        return self.templates[f"{stage}/{stack}"]

    def resources(self, stage: str, stack: str, type_: str) -> dict[str, dict]:
        return {k: v for k, v in self.template(stage, stack)["Resources"].items()
                if v["Type"] == type_}


def synthesize(config: PlatformConfig, outdir: Path, **options) -> SynthResult:
    from app import build_app

    app = build_app(config, outdir=str(outdir), **options)
    assembly = app.synth()
    templates: dict[str, dict] = {}
    for nested in assembly.nested_assemblies:
        for stack in nested.nested_assembly.stacks:
            templates[stack.hierarchical_id] = stack.template
    return SynthResult(outdir=outdir, templates=templates, app=app)
