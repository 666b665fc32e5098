"""A throwaway, durable PostgreSQL for the benchmarks.

Like the tests' server (tests/conftest.py) but with the server's durable
defaults: fsync, synchronous_commit and full_page_writes stay on. initdb and
pg_ctl refuse to run as root, so as root they run as the `postgres` user.
``ACCORD_BENCH_DATABASE_URL`` names an existing server to use instead (its
role needs CREATEDB).
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import parse_qs, urlsplit, urlunsplit

import psycopg

ENV_URL = "ACCORD_BENCH_DATABASE_URL"


def find_bindir() -> str | None:
    """Where initdb, pg_ctl and postgres live: pg_config, PATH, /usr/lib/postgresql/*/bin."""

    def ok(bindir: str | os.PathLike[str]) -> bool:
        return all(os.access(Path(bindir, n), os.X_OK) for n in ("initdb", "pg_ctl", "postgres"))

    if pg_config := shutil.which("pg_config"):
        out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True).stdout.strip()
        if out and ok(out):
            return out
    if (initdb := shutil.which("initdb")) and ok(Path(initdb).parent):
        return str(Path(initdb).parent)

    def version(bindir: str) -> float:
        try:
            return float(Path(bindir).parent.name)
        except ValueError:
            return 0.0

    for bindir in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=version, reverse=True):
        if ok(bindir):
            return bindir
    return None


class Server:
    """A PostgreSQL server to create benchmark databases on."""

    def __init__(self, admin_dsn: str) -> None:
        self.admin_dsn = admin_dsn

    def dsn_for(self, dbname: str) -> str:
        p = urlsplit(self.admin_dsn)
        return urlunsplit((p.scheme, p.netloc, "/" + dbname, p.query, p.fragment))

    def create_database(self, prefix: str = "bench") -> str:
        name = f"{prefix}_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(self.admin_dsn, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.dsn_for(name)

    def drop_database(self, dsn: str) -> None:
        name = urlsplit(dsn).path.lstrip("/")
        with psycopg.connect(self.admin_dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def show(self, setting: str) -> str:
        with psycopg.connect(self.admin_dsn) as conn:
            return conn.execute(f"SHOW {setting}").fetchone()[0]  # type: ignore[index]


def params(dsn: str) -> dict[str, str]:
    """libpq keywords of a postgresql:// DSN (a unix-socket host may sit in ?host=)."""
    p = urlsplit(dsn)
    query = {k: v[-1] for k, v in parse_qs(p.query).items()}
    return {
        "dbname": p.path.lstrip("/"),
        "host": query.get("host") or p.hostname or "localhost",
        "port": str(query.get("port") or p.port or 5432),
        "user": p.username or query.get("user") or os.environ.get("USER", "postgres"),
        "password": p.password or query.get("password") or "",
    }


class LocalCluster:
    """initdb into a temp dir; the server listens only on a unix socket there."""

    def __init__(self, bindir: str) -> None:
        self.bindir = bindir
        self.as_root = os.geteuid() == 0
        self.dir = Path(tempfile.mkdtemp(prefix="accord-bench-", dir="/tmp"))  # short socket path
        self.data = self.dir / "data"
        self.log = self.dir / "postgres.log"

    def _run(self, *args: str) -> None:
        cmd = [str(Path(self.bindir, args[0])), *args[1:]]
        if self.as_root:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        if proc.returncode != 0:
            log = self.log.read_text(errors="replace") if self.log.exists() else ""
            raise RuntimeError(f"{args[0]} failed:\n{proc.stdout}\n{proc.stderr}\n{log}")

    def start(self) -> Server:
        if self.as_root:
            pw = pwd.getpwnam("postgres")
            os.chmod(self.dir, 0o755)
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
        # --no-sync only skips syncing initdb's own files; the server runs durable.
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust",
                  "--encoding=UTF8", "--locale=C", "--no-sync")
        options = f"-k {self.dir} -c listen_addresses='' -p 5432 -c max_connections=100"
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options,
                  "-w", "-t", "60", "start")
        server = Server(f"postgresql://postgres@/postgres?host={self.dir}")
        wait_ready(server.admin_dsn)
        return server

    def postmaster(self) -> int:
        """The server's pid (the first line of postmaster.pid)."""
        return int((self.data / "postmaster.pid").read_text().split()[0])

    def stop(self) -> None:
        try:
            if self.data.exists():
                self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)


def wait_ready(dsn: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with psycopg.connect(dsn, connect_timeout=5) as conn:
                conn.execute("SELECT 1")
            return
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
