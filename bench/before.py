"""`python -m bench --before DIR`: the same measurements against the code as it was, in the same run.

DIR holds earlier versions of some of the service's modules at their paths
(for example the hot-path modules as an earlier commit had them, from git archive).
The overlay is a copy of today's `domain`, `projections` and `service` with
DIR's files laid over them; each section then also measures an Accord
running from the overlay (a server started in it, or a fold in a child
process started in it), in turn with today's, and reports today's figure
over the earlier one. It works while the other modules keep the interfaces
DIR's files had: it is a tool for measuring a change, not a history.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from .procs import ROOT

PACKAGES = ("domain", "projections", "service")


def overlay(ctx) -> Path | None:  # noqa: ANN001 - a harness Context
    """The overlay tree for `ctx.before` (made once per run), or None without `--before`."""
    if not ctx.before:
        return None
    root = Path(ctx.scratch, "before-tree")
    if not root.exists():
        for package in PACKAGES:
            shutil.copytree(ROOT / package, root / package, ignore=shutil.ignore_patterns("__pycache__"))
        source = Path(ctx.before)
        for file in sorted(source.rglob("*.py")):
            target = root / file.relative_to(source)
            if not target.parent.is_dir():
                raise SystemExit(f"--before: {file} has no counterpart package in the tree")
            shutil.copyfile(file, target)
        ctx.say(f"'before' overlay: {', '.join(str(f.relative_to(source)) for f in sorted(source.rglob('*.py')))}")
    return root
