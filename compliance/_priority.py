"""The checks' own processes (cfn-guard, CDK's validator engine) at low CPU priority.

`cdk synth` checks templates while the app is still building others (app.py, ``check_ahead``):
the build is the synth's critical path, one core of Python and jsii, and the checks fill the
other core. At normal priority they take CPU from the build as well (measured: the 500-person
build ran at about half speed beside them); at the lowest priority they take only what the
build leaves. The app's ``main`` turns this on; the test suite leaves it off, so its in-process
synths are not slowed by a busy machine.
"""

from __future__ import annotations

import shutil

NICENESS = 19
_low = False


def run_checks_at_low_priority(enabled: bool = True) -> None:
    global _low
    _low = enabled


def command(argv: list[str]) -> list[str]:
    """``argv`` as started under ``nice`` (POSIX; set before the program starts, so every
    thread of it is lowered) when low priority is on and ``nice`` exists, else unchanged."""
    nice = shutil.which("nice") if _low else None
    return [nice, "-n", str(NICENESS), *argv] if nice else list(argv)
