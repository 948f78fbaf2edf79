"""checkov, the infrastructure-as-code scanner many institutions run themselves, on the
synthesized templates: ``python -m review.checkov cdk.out --checkov .venv-scan/bin/checkov``
(``make scan``). Exit 1 when any check fails that the templates do not skip.

Skips live in the templates (resource ``Metadata: {checkov: {skip: [{id, comment}]}}``) and
are written at synth time from compliance/acknowledgements.py, reason included
(docs/review-pack.md, "checkov"). The raw JSON report is kept in ``<cdk.out>/checkov-report.json``
so the review pack can list the result beside cdk-nag and cfn-guard.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CHECKOV = ROOT / ".venv-scan" / "bin" / "checkov"
REPORT = "checkov-report.json"


@dataclass
class Finding:
    check_id: str
    name: str
    resource: str  # e.g. "AWS::IAM::Policy.FunctionPolicy1234"
    file: str  # template path relative to cdk.out
    comment: str = ""  # skip reason


@dataclass
class CheckovResult:
    version: str
    passed: int = 0
    failed: list[Finding] = field(default_factory=list)
    skipped: list[Finding] = field(default_factory=list)
    parsing_errors: list[str] = field(default_factory=list)
    templates: int = 0


def _templates(outdir: Path) -> list[Path]:
    return sorted(p for p in outdir.rglob("*.template.json") if "review" not in p.relative_to(outdir).parts)


def run(outdir: Path, checkov: Path | str = DEFAULT_CHECKOV, report: Path | None = None) -> CheckovResult:
    """Run checkov on every template of the assembly (nested stage assemblies included) and
    keep its JSON report (in the assembly unless ``report`` says where)."""
    outdir = Path(outdir)
    report = report or outdir / REPORT
    templates = _templates(outdir)
    if not templates:
        raise FileNotFoundError(f"{outdir}: no *.template.json (run `make synth` first)")
    if not Path(checkov).exists():
        raise FileNotFoundError(f"{checkov}: checkov is not installed (run `make scan`, which installs it "
                                "from requirements-scan.txt into .venv-scan)")
    env = dict(os.environ, ANSI_COLORS_DISABLED="1", LOG_LEVEL="ERROR", BC_SKIP_MAPPING="TRUE",
               CHECKOV_RUN_SCA_PACKAGE_SCAN_V2="false", PYTHONWARNINGS="ignore")
    cmd = [str(checkov), "--framework", "cloudformation", "--output", "json", "--skip-download",
           "--soft-fail"]
    for t in templates:
        cmd += ["--file", str(t)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    try:
        data = json.loads(proc.stdout)
    except json.JSONDecodeError:
        raise RuntimeError(f"checkov printed no JSON report (exit {proc.returncode}): "
                           f"{(proc.stderr or proc.stdout)[-2000:]}") from None
    report.write_text(json.dumps(data, indent=1))
    version = subprocess.run([str(checkov), "--version"], capture_output=True, text=True, env=env).stdout.strip()
    return parse(data, outdir, version, len(templates))


def parse(data, outdir: Path, version: str = "", templates: int = 0) -> CheckovResult:
    reports = data if isinstance(data, list) else [data]
    result = CheckovResult(version=version, templates=templates)
    for report in reports:
        if not isinstance(report, dict) or "results" not in report:
            continue
        results = report["results"]
        result.passed += len(results.get("passed_checks") or [])
        for kind, target in (("failed_checks", result.failed), ("skipped_checks", result.skipped)):
            for c in results.get(kind) or []:
                path = c.get("file_abs_path") or c.get("file_path", "")
                try:
                    rel = str(Path(path).resolve().relative_to(Path(outdir).resolve()))
                except ValueError:
                    rel = path
                target.append(Finding(c.get("check_id", "?"), c.get("check_name", ""), c.get("resource", ""), rel,
                                      (c.get("check_result") or {}).get("suppress_comment", "") or ""))
        result.parsing_errors += list(results.get("parsing_errors") or [])
    return result


def load(outdir: Path, report: Path | None = None) -> CheckovResult | None:
    """The result `make scan` left in the assembly, or None."""
    path = report or Path(outdir) / REPORT
    if not path.is_file():
        return None
    return parse(json.loads(path.read_text()), outdir, version=_recorded_version())


def _recorded_version() -> str:
    for line in (ROOT / "requirements-scan.txt").read_text().splitlines():
        if line.lower().startswith("checkov=="):
            return line.split("==", 1)[1].strip()
    return "?"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m review.checkov", description=__doc__.split("\n\n")[0])
    parser.add_argument("outdir", nargs="?", default="cdk.out")
    parser.add_argument("--checkov", default=str(DEFAULT_CHECKOV))
    args = parser.parse_args(argv)
    try:
        result = run(Path(args.outdir), args.checkov)
    except (FileNotFoundError, RuntimeError) as exc:
        print(exc, file=sys.stderr)
        return 2
    print(f"checkov {result.version} on {result.templates} templates: {result.passed} passed, "
          f"{len(result.failed)} failed, {len(result.skipped)} skipped (acknowledged in the templates)"
          + (f", {len(result.parsing_errors)} parsing errors" if result.parsing_errors else ""))
    for f in result.failed:
        print(f"  FAILED {f.check_id} {f.name}: {f.resource} in {f.file}")
    for e in result.parsing_errors:
        print(f"  PARSING ERROR {e}")
    return 1 if result.failed or result.parsing_errors else 0


if __name__ == "__main__":
    sys.exit(main())
