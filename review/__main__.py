"""python -m review [cdk.out] [--config config/platform.yaml] [--no-diagrams]
                    [--baseline GIT_REF_OR_CDK_OUT] [--fail-on-broaden]

Exit status: 0; 2 for a bad configuration or baseline; 3 with --fail-on-broaden when the
change review finds that the candidate broadens access (a pipeline gate)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def main(argv: list[str] | None = None) -> int:
    from platform_config import ConfigError, load_config
    from review.pack import build_pack

    parser = argparse.ArgumentParser(prog="python -m review", description=__doc__)
    parser.add_argument("outdir", nargs="?", default="cdk.out")
    parser.add_argument("--config", default=str(ROOT / "config" / "platform.yaml"))
    parser.add_argument("--no-diagrams", action="store_true")
    parser.add_argument("--baseline", default=None,
                        help="git ref or cdk.out folder of the approved release: adds the change review")
    parser.add_argument("--fail-on-broaden", action="store_true",
                        help="exit 3 when the change review finds broader access (needs --baseline)")
    args = parser.parse_args(argv)
    if args.fail_on_broaden and not args.baseline:
        print("--fail-on-broaden needs --baseline (make review BASELINE=<git ref | cdk.out folder>)",
              file=sys.stderr)
        return 2
    try:
        config = load_config(Path(args.config))
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    from review.change import BaselineError

    try:
        result = build_pack(Path(args.outdir), config, tests_root=ROOT / "tests",
                            diagrams=not args.no_diagrams, baseline=args.baseline,
                            config_path=Path(args.config))
    except BaselineError as exc:
        print(exc, file=sys.stderr)
        return 2
    status = ", ".join(f"{r.control.id}={r.status}" for r in result.controls)
    costs = ", ".join(f"{e} ${c.total:,.2f}" for e, c in result.costs.items())
    print(f"Review pack: {result.directory}/index.html ({len(result.diagrams)} diagram files)")
    print(f"  controls: {status}")
    print(f"  idle cost/month: {costs}")
    if result.diagram_note:
        print(f"  {result.diagram_note}")
    if result.change is not None:
        print(f"  change since {result.change.baseline}: {result.change.verdict}")
        from review.change import removed_workspace_lines

        for line in removed_workspace_lines(result.change):
            print(f"  {line}")
        if args.fail_on_broaden and result.change.broadens:
            print("FAIL: the change broadens access (--fail-on-broaden); see change.md", file=sys.stderr)
            return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
