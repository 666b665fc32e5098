"""The `accord` command as a new user meets it: its help, its errors, and the line `serve` starts with.

Help texts are checked in-process through `service.cli.main`; what only a
real process shows (exit status, no traceback, the serving line before the
JSON logs) through the installed `accord` console script.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import fields
from pathlib import Path

import pytest

from service import cli, demo
from service.settings import Settings
from tests.servers import free_port

ROOT = Path(__file__).resolve().parents[1]
ACCORD = Path(sys.executable).with_name("accord")
COMMANDS = {"serve", "demo", "watch", "migrate", "rebuild"}


def accord(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run the installed console script, as a user types it."""
    assert ACCORD.exists(), f"no {ACCORD}: install the project (pip install -e .)"
    return subprocess.run([str(ACCORD), *args], capture_output=True, text=True, timeout=timeout, cwd=ROOT)


def help_of(capsys: pytest.CaptureFixture[str], *command: str) -> str:
    """`accord <command> --help` through main, as printed."""
    with pytest.raises(SystemExit) as exited:
        cli.main([*command, "--help"])
    assert exited.value.code == 0
    return capsys.readouterr().out


def subcommands() -> dict[str, tuple[str, str | None]]:
    """Every subcommand the parser has: its description and its line in `accord --help`."""
    (action,) = [a for a in cli.build_parser()._actions if isinstance(a, argparse._SubParsersAction)]
    summaries = {choice.dest: choice.help for choice in action._choices_actions}
    return {name: (parser.description or "", summaries.get(name)) for name, parser in action.choices.items()}


# --------------------------------------------------------------------------
# Bare `accord`, subcommands
# --------------------------------------------------------------------------


def test_bare_accord_prints_its_help_and_exits_0() -> None:
    result = accord()
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: accord")
    for name in COMMANDS:
        assert re.search(rf"^\s+{name}\s+\S", result.stdout, re.MULTILINE), f"{name} not listed:\n{result.stdout}"
    assert result.stderr == ""


def test_every_subcommand_has_a_description_and_a_help_line() -> None:
    found = subcommands()
    assert COMMANDS <= found.keys()
    for name, (description, summary) in found.items():
        assert len(description) > 20, f"`accord {name} --help` has no description"
        assert summary, f"`accord --help` gives no line for {name}"


# --------------------------------------------------------------------------
# serve --log-level
# --------------------------------------------------------------------------


@pytest.mark.parametrize("given", ["debug", "info", "warning", "error", "WARNING"])
def test_log_level_accepts_the_four_levels_in_any_case(given: str) -> None:
    args = cli.build_parser().parse_args(["serve", "--log-level", given])
    assert args.log_level == given.lower()


def test_a_bad_log_level_is_a_usage_error_not_a_traceback() -> None:
    result = accord("serve", "--log-level", "loud")
    assert result.returncode == 2
    assert "invalid choice: 'loud'" in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""  # refused before anything started


def test_serve_help_explains_log_level(capsys: pytest.CaptureFixture[str]) -> None:
    text = help_of(capsys, "serve")
    assert "--log-level {debug,info,warning,error}" in text
    assert re.search(r"--log-level \{[a-z,]+\}\s+\S.*default: info", text, re.DOTALL)


# --------------------------------------------------------------------------
# serve --help: the settings that are only environment variables
# --------------------------------------------------------------------------


def test_every_setting_has_a_docstring_for_the_help() -> None:
    assert set(cli.setting_docs()) == {field.name for field in fields(Settings)}
    assert all(doc.strip() for doc in cli.setting_docs().values())


def test_serve_help_lists_every_environment_only_setting_with_its_default(capsys: pytest.CaptureFixture[str]) -> None:
    epilog = help_of(capsys, "serve").split("settings taken only from the environment:", 1)[1]
    env_only = [field.name for field in fields(Settings) if field.name not in cli.SERVE_FLAGS]
    assert "token_ttl_seconds" in env_only and "max_body_bytes" in env_only
    for name in env_only:
        default = getattr(Settings(), name)
        expected = "empty" if default == "" else str(default)
        assert f"ACCORD_{name.upper()} (default: {expected})" in epilog
    assert "ACCORD_HOST" not in epilog  # it has a flag, listed above


def test_the_variables_help_names_are_the_ones_settings_reads() -> None:
    for field in fields(Settings):
        value = "12345" if field.type in ("int", "float") else "from-the-environment"
        read = Settings.from_env({cli.env_name(field.name): value})
        assert getattr(read, field.name) != getattr(Settings(), field.name), f"{cli.env_name(field.name)} not read"


def test_the_readme_configuration_table_names_every_setting() -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    for field in fields(Settings):
        assert f"`{cli.env_name(field.name)}`" in section, f"README's Configuration lacks {field.name}"
    for flag in [*cli.SERVE_FLAGS.values(), "--log-level"]:
        assert f"`{flag}`" in section


# --------------------------------------------------------------------------
# watch and demo help
# --------------------------------------------------------------------------


def test_watch_help_shows_its_default_server(capsys: pytest.CaptureFixture[str]) -> None:
    assert "(default: http://127.0.0.1:8000)" in help_of(capsys, "watch")


def test_demo_help_gives_the_demo_password(capsys: pytest.CaptureFixture[str]) -> None:
    assert demo.PASSWORD in help_of(capsys, "demo")


# --------------------------------------------------------------------------
# The line `accord serve` starts with
# --------------------------------------------------------------------------


def first_line(process: subprocess.Popen[str], timeout: float = 30) -> str:
    assert process.stdout is not None
    ready, _, _ = select.select([process.stdout], [], [], timeout)
    assert ready, f"accord serve printed nothing on stdout in {timeout} s"
    return process.stdout.readline().rstrip("\n")


def wait_healthy(url: str, process: subprocess.Popen[str], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while process.poll() is None and time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url + "/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.05)
    pytest.fail(f"accord serve did not answer {url}/health (exit status {process.poll()})")


def test_serve_first_says_where_it_serves_and_on_which_store(tmp_path: Path) -> None:
    port = free_port()
    database = tmp_path / "first.db"
    assert ACCORD.exists(), f"no {ACCORD}: install the project (pip install -e .)"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ACCORD_")}
    process = subprocess.Popen(
        [str(ACCORD), "serve", "--port", str(port), "--database", f"sqlite:///{database}"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=tmp_path,
    )  # fmt: skip
    try:
        first = first_line(process)
        # Stop it only once it serves, so its startup logs are all on stderr to check.
        wait_healthy(f"http://127.0.0.1:{port}", process)
    finally:
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=30)
    assert first == f"Accord serving http://127.0.0.1:{port} on SQLite {database}"
    assert out.strip() == ""  # one plain line, and nothing else on stdout
    # stderr stays JSON log lines only (log collectors parse it): the plain line did not go there.
    log_lines = [json.loads(line) for line in err.splitlines() if line.strip()]
    assert any("Application startup complete" in line["message"] for line in log_lines)


SECRET = "s3cr3t-pw"


@pytest.mark.parametrize(
    ("url", "host"),
    [
        (f"postgresql://accord:{SECRET}@db.internal:5432/accord", "db.internal:5432"),
        (f"postgres://accord:{SECRET}@db.internal/accord", "db.internal"),
        (f"postgresql://accord:{SECRET}@with@db.internal/accord", "db.internal"),  # an unescaped @ in it
        (f"postgresql://accord@/accord?host=/run/postgresql&password={SECRET}", "/run/postgresql"),
        (f"postgresql://accord:{SECRET}@h1:5432,h2:5433/accord", "h1:5432,h2:5433"),
    ],
)
def test_the_serving_line_never_shows_a_postgres_password(url: str, host: str) -> None:
    line = cli.serving_line(Settings(database_url=url, host="0.0.0.0", port=8080))
    assert line == f"Accord serving http://0.0.0.0:8080 on PostgreSQL database accord on {host} as accord"
    assert SECRET not in line


def test_the_serving_line_brackets_an_ipv6_host() -> None:
    assert cli.serving_line(Settings(host="::1", database_url="sqlite:////var/accord.db")) == (
        "Accord serving http://[::1]:8000 on SQLite /var/accord.db"
    )


# --------------------------------------------------------------------------
# .gitignore
# --------------------------------------------------------------------------


@pytest.mark.skipif(shutil.which("git") is None or not (ROOT / ".git").exists(), reason="needs git and the checkout")
def test_sqlite_companion_files_are_ignored() -> None:
    names = ["accord.db", "accord.db-wal", "accord.db-shm", "accord.db-journal", "accord.db.key"]
    result = subprocess.run(["git", "check-ignore", "--no-index", *names], cwd=ROOT, capture_output=True, text=True)
    assert result.stdout.split() == names
