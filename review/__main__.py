"""python -m review [cdk.out] [--config config/platform.yaml] [--no-diagrams]"""

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
    args = parser.parse_args(argv)
    try:
        config = load_config(Path(args.config))
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    result = build_pack(Path(args.outdir), config, tests_root=ROOT / "tests",
                        diagrams=not args.no_diagrams)
    status = ", ".join(f"{r.control.id}={r.status}" for r in result.controls)
    costs = ", ".join(f"{e} ${c.total:,.2f}" for e, c in result.costs.items())
    print(f"Review pack: {result.directory}/index.html ({len(result.diagrams)} diagram files)")
    print(f"  controls: {status}")
    print(f"  idle cost/month: {costs}")
    if result.diagram_note:
        print(f"  {result.diagram_note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
