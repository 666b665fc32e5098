"""The template library ships with the package: an installed (not editable) Accord finds its templates too."""

from __future__ import annotations

import tomllib
from fnmatch import fnmatch
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_every_template_file_is_package_data() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = project["tool"]["setuptools"]["package-data"]["service"]
    files = sorted((ROOT / "service" / "library").glob("*.toml"))
    assert files
    for path in files:
        relative = path.relative_to(ROOT / "service").as_posix()
        assert any(fnmatch(relative, pattern) for pattern in patterns), relative
