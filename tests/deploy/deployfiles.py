"""Readers for the files under deploy/: Dockerfile, compose, nginx, manifests.

Small and strict on purpose: each reads just enough of its format for the
tests to compare what the files say with each other and with the service.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field, fields
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
K8S = DEPLOY / "k8s"


# --------------------------------------------------------------------------
# Dockerfile
# --------------------------------------------------------------------------


@dataclass
class Instruction:
    keyword: str
    args: str

    def exec_form(self) -> list[str]:
        """The JSON array of an exec-form CMD/ENTRYPOINT/HEALTHCHECK CMD."""
        text = self.args
        if self.keyword == "HEALTHCHECK":
            text = text[text.index("CMD") + len("CMD") :]
        text = text.strip()
        assert text.startswith("["), f"{self.keyword} is not in exec form: {self.args!r}"
        value = json.loads(text)
        assert isinstance(value, list) and all(isinstance(v, str) for v in value)
        return value

    def flags(self) -> dict[str, str]:
        """`--name=value` options at the start (COPY --from=..., HEALTHCHECK --interval=...)."""
        out: dict[str, str] = {}
        for word in shlex.split(self.args):
            if not word.startswith("--"):
                break
            name, _, value = word[2:].partition("=")
            out[name] = value
        return out


@dataclass
class Stage:
    base: str
    name: str | None
    instructions: list[Instruction] = field(default_factory=list)

    def all(self, keyword: str) -> list[Instruction]:
        return [i for i in self.instructions if i.keyword == keyword]

    def last(self, keyword: str) -> Instruction | None:
        found = self.all(keyword)
        return found[-1] if found else None


def dockerfile_instructions(text: str) -> list[Instruction]:
    """Instructions with continuation lines joined and comments dropped."""
    out: list[Instruction] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if pending and line.startswith("#"):
            continue  # comment lines inside a continued instruction are skipped
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line = pending + line
        pending = ""
        keyword, _, args = line.partition(" ")
        out.append(Instruction(keyword.upper(), args.strip()))
    assert not pending, "the Dockerfile ends inside a continued line"
    return out


def dockerfile_stages(path: Path = DEPLOY / "Dockerfile") -> list[Stage]:
    """Build stages, with global ARG defaults substituted into FROM."""
    args: dict[str, str] = {}
    stages: list[Stage] = []
    for ins in dockerfile_instructions(path.read_text()):
        if ins.keyword == "ARG" and not stages:
            name, _, default = ins.args.partition("=")
            args[name.strip()] = default.strip()
            continue
        if ins.keyword == "FROM":
            words = [w for w in ins.args.split() if not w.startswith("--")]
            base = re.sub(r"\$\{?(\w+)\}?", lambda m: args.get(m.group(1), m.group(0)), words[0])
            name = words[2] if len(words) >= 3 and words[1].upper() == "AS" else None
            stages.append(Stage(base=base, name=name))
            continue
        assert stages, f"{ins.keyword} before the first FROM"
        stages[-1].instructions.append(ins)
    return stages


def option(argv: list[str], name: str) -> str | None:
    """The value after `name` in an argv (`--port 8000`), or None."""
    for i, word in enumerate(argv):
        if word == name and i + 1 < len(argv):
            return argv[i + 1]
        if word.startswith(name + "="):
            return word.split("=", 1)[1]
    return None


def exposed_ports(stage: Stage) -> set[int]:
    ports: set[int] = set()
    for ins in stage.all("EXPOSE"):
        for word in ins.args.split():
            ports.add(int(word.split("/")[0]))
    return ports


def dockerignore_allows(patterns: list[str], path: str) -> bool:
    """Whether the context keeps `path` (a top-level file or folder name).

    Enough of the .dockerignore rules for an allow-list: the last pattern that
    matches decides; `!` re-includes; a trailing `/` is ignored.
    """
    from fnmatch import fnmatchcase

    kept = True
    for pattern in patterns:
        negate = pattern.startswith("!")
        body = pattern[1:] if negate else pattern
        body = body.rstrip("/")
        body = body.removeprefix("**/")
        if fnmatchcase(path, body):
            kept = negate
    return kept


def dockerignore_patterns(path: Path) -> list[str]:
    lines = [line.strip() for line in path.read_text().splitlines()]
    return [line for line in lines if line and not line.startswith("#")]


# --------------------------------------------------------------------------
# Compose
# --------------------------------------------------------------------------

_INTERPOLATION = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<default>[^}]*))?\}")


def interpolate(value: str, env: dict[str, str] | None = None) -> str:
    """Compose's `${VAR}`, `${VAR:-default}` and `${VAR-default}`, with no variables set."""
    env = env or {}

    def replace(match: re.Match[str]) -> str:
        name, op, default = match.group("name"), match.group("op"), match.group("default")
        if name in env and (env[name] or op != ":-"):
            return env[name]
        if op in (":-", "-"):
            return default
        raise AssertionError(f"${{{name}}} has no default: compose would need it set")

    return _INTERPOLATION.sub(replace, value).replace("$$", "$")


def environment(service: dict) -> dict[str, str]:
    """A compose service's environment (map or list form), interpolated."""
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {str(k): interpolate(str(v)) for k, v in env.items()}


def duration_seconds(value: str | float) -> float:
    """Compose durations (`30s`, `1m30s`, `1h`) and nginx times (`60s`, `1h`, `75`)."""
    if isinstance(value, (int, float)):
        return float(value)
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}
    text = str(value).strip()
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return float(text)
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)", text)
    assert parts and "".join(n + u for n, u in parts) == text, f"not a duration: {value!r}"
    return sum(float(n) * units[u] for n, u in parts)


def size_bytes(value: str) -> int:
    """nginx sizes: `64k`, `1m`, `512`."""
    match = re.fullmatch(r"(\d+)([kKmMgG]?)", value.strip())
    assert match, f"not a size: {value!r}"
    return int(match.group(1)) * {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}[match.group(2).lower()]


# --------------------------------------------------------------------------
# nginx
# --------------------------------------------------------------------------


@dataclass
class Directive:
    name: str
    args: list[str]
    block: list[Directive] | None = None

    def children(self, name: str) -> list[Directive]:
        return [d for d in self.block or [] if d.name == name]

    def child(self, name: str) -> Directive | None:
        found = self.children(name)
        return found[-1] if found else None

    def walk(self) -> Iterator[Directive]:
        yield self
        for d in self.block or []:
            yield from d.walk()


def _nginx_tokens(text: str) -> Iterator[str]:
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c.isspace():
            i += 1
        elif c == "#":
            while i < n and text[i] != "\n":
                i += 1
        elif c in "{};":
            yield c
            i += 1
        elif c in "'\"":
            j = i + 1
            while j < n and text[j] != c:
                j += 2 if text[j] == "\\" else 1
            assert j < n, "unterminated quoted string in nginx.conf"
            yield "\x00" + text[i + 1 : j]  # marked as quoted, so `;` inside stays literal
            i = j + 1
        else:
            j = i
            while j < n and not text[j].isspace() and text[j] not in "{};":
                j += 1
            yield text[i:j]
            i = j


def parse_nginx(text: str) -> Directive:
    """The whole config as a root Directive whose block is the main context."""
    tokens = list(_nginx_tokens(text))
    pos = 0

    def block(top: bool) -> list[Directive]:
        nonlocal pos
        out: list[Directive] = []
        words: list[str] = []
        while pos < len(tokens):
            token = tokens[pos]
            pos += 1
            if token == ";":
                assert words, "an empty directive (stray `;`) in nginx.conf"
                out.append(Directive(words[0], words[1:]))
                words = []
            elif token == "{":
                assert words, "a block without a name in nginx.conf"
                out.append(Directive(words[0], words[1:], block(top=False)))
                words = []
            elif token == "}":
                assert not top, "unbalanced `}` in nginx.conf"
                assert not words, f"directive {words} lacks its `;` before `}}`"
                return out
            else:
                words.append(token.lstrip("\x00"))
        assert top, "nginx.conf ends inside a block"
        assert not words, f"directive {words} lacks its `;`"
        return out

    return Directive("main", [], block(top=True))


def effective_proxy_headers(chain: list[Directive]) -> dict[str, str]:
    """proxy_set_header in force at the last of `chain` (main → http → server → location).

    nginx inherits these only into a level that sets none of its own.
    """
    for level in reversed(chain):
        found = level.children("proxy_set_header")
        if found:
            return {d.args[0].lower(): d.args[1] if len(d.args) > 1 else "" for d in found}
    return {}


def effective(chain: list[Directive], name: str) -> list[str] | None:
    """A simple (inherited, last-wins) directive's arguments at the end of `chain`."""
    for level in reversed(chain):
        found = level.child(name)
        if found is not None:
            return found.args
    return None


# --------------------------------------------------------------------------
# Kubernetes
# --------------------------------------------------------------------------


def k8s_documents() -> list[tuple[Path, dict]]:
    import yaml

    docs: list[tuple[Path, dict]] = []
    for path in sorted(K8S.glob("*.yaml")):
        if path.name == "kustomization.yaml":
            continue
        for doc in yaml.safe_load_all(path.read_text()):
            if doc is not None:
                docs.append((path, doc))
    return docs


# API groups whose kinds come from operators' CRDs, which are not in the
# repository: kubernetes-validate has no schema for them, so the tests check
# their structure themselves.
CNPG = "postgresql.cnpg.io"
PROMETHEUS_OPERATOR = "monitoring.coreos.com"
OPERATOR_GROUPS = frozenset({CNPG, PROMETHEUS_OPERATOR})


def api_group(doc: dict) -> str:
    """`apps` for `apps/v1`; the empty (core) group for `v1`."""
    group, _, _ = str(doc["apiVersion"]).rpartition("/")
    return group


def is_custom_resource(doc: dict) -> bool:
    return api_group(doc) in OPERATOR_GROUPS


def one(kind: str) -> dict:
    found = [doc for _, doc in k8s_documents() if doc.get("kind") == kind]
    assert len(found) == 1, f"expected one {kind} under deploy/k8s, found {len(found)}"
    return found[0]


def named(kind: str, name: str) -> dict:
    found = [doc for _, doc in k8s_documents() if doc.get("kind") == kind and doc["metadata"]["name"] == name]
    assert len(found) == 1, f"expected one {kind} named {name} under deploy/k8s, found {len(found)}"
    return found[0]


def millicores(value: str | int | float) -> float:
    """A CPU quantity (`250m`, `1`, `0.5`) in millicores."""
    text = str(value)
    match = re.fullmatch(r"(\d+(?:\.\d+)?)(m?)", text)
    assert match, f"not a CPU quantity: {value!r}"
    return float(match.group(1)) * (1 if match.group(2) else 1000)


def matches(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def settings_env_names() -> set[str]:
    """The ACCORD_* variables Settings.from_env reads."""
    from service.settings import Settings

    return {f"ACCORD_{f.name.upper()}" for f in fields(Settings)}


def nginx_binary(what: str) -> str:
    """nginx, or a skip saying why — a failure where CI requires it (ACCORD_REQUIRE_NGINX=1)."""
    binary = shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if Path(p).exists()), None
    )
    if binary is None:
        reason = f"nginx is not installed (apt-get install nginx-light): {what} not run"
        if os.environ.get("ACCORD_REQUIRE_NGINX") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    return binary
