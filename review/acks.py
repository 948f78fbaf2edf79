"""Every acknowledged compliance finding, with its reason and the resources it applies to:
compliance/acknowledgements.py says what was accepted and why; the validation report of
the synth says where each acknowledgement took effect."""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, field
from pathlib import Path

from compliance._summary import load_validation_report
from review.assembly import Environment


@dataclass
class AckRow:
    path: str
    finding: str
    reason: str
    applied: list[tuple[str, str, str]] = field(default_factory=list)  # (env, construct path, logical id)


def suppressed(outdir: Path) -> list[dict]:
    """Suppressed violations of the validation report: plugin, rule, path, reason."""
    data = load_validation_report(outdir)
    out = []
    for plugin in data.get("pluginReports", []):
        for v in plugin.get("suppressedViolations", []) or []:
            for c in v.get("violatingConstructs", []):
                out.append({"plugin": plugin.get("pluginName"), "rule": v.get("ruleName"),
                            "path": c.get("constructPath") or v.get("acknowledgedAt", ""),
                            "reason": v.get("reason", "")})
    return out


def acknowledged_paths(outdir: Path) -> dict[str, set[str]]:
    paths: dict[str, set[str]] = {}
    for s in suppressed(outdir):
        paths.setdefault(s["path"], set()).add(s["rule"].split("[", 1)[0])
    return paths


def acknowledgement_rows(outdir: Path, environments: dict[str, Environment], acknowledgements=None) -> list[AckRow]:
    conditional = ()
    if acknowledgements is None:
        from compliance.acknowledgements import ACKNOWLEDGEMENTS as acknowledgements
        from compliance.acknowledgements import CONDITIONAL_ACKNOWLEDGEMENTS as conditional
        acknowledgements = (*acknowledgements, *conditional)
    by_path = {}
    for environment in environments.values():  # ``env`` below is a stage name (str)
        for r in environment.resources:
            by_path[r.path] = r
            by_path.setdefault(r.path.removesuffix("/Resource"), r)
    # The report's suppressed findings by (plugin, rule): each acknowledgement reads only its
    # own (with 500 people, scanning the whole report per entry took ~0.3 s).
    report: dict[tuple[str, str], list[dict]] = {}
    for s in suppressed(outdir):
        report.setdefault((s["plugin"], s["rule"]), []).append(s)
    stage_paths = [(*path.split("/", 1), res) if "/" in path else (path, "", res)
                   for path, res in by_path.items()]
    rows = []
    for ack in acknowledgements:
        row = AckRow(ack.path, ack.finding, ack.reason)
        for s in report.get((ack.plugin, ack.rule), ()):
            env, _, rel = s["path"].partition("/")
            if fnmatch.fnmatchcase(rel, ack.path):
                res = by_path.get(s["path"])
                row.applied.append((env, s["path"], res.logical_id if res else "?"))
        if not row.applied and ack not in conditional:
            # no report (e.g. checks off): resolve the pattern against the templates. Not for a
            # configuration-specific acknowledgement: its construct path exists in every
            # configuration (e.g. the pipeline's actions policy), its finding only in some.
            pattern = re.compile(fnmatch.translate(ack.path))
            for env, rel, res in stage_paths:
                if pattern.match(rel):
                    row.applied.append((env, res.path, res.logical_id))
        row.applied = sorted(set(row.applied))
        if row.applied or ack not in conditional:  # a configuration-specific one: if it applies
            rows.append(row)
    return rows
