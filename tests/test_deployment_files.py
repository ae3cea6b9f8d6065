"""The container files (Dockerfile, compose.yaml, .env.example, deploy/nginx.conf) against the code
they run, without Docker: a renamed command or setting, a third web service nginx does not know,
or an image that installs in editable mode or runs as root fails here, not on a server.
"""

from __future__ import annotations

import fnmatch
import json
import re
import shlex
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import click
import pytest
import yaml
from flask.testing import FlaskClient

from queue_app.cli import main as queue_app_cli
from queue_app.settings import Settings

REPO = Path(__file__).resolve().parents[1]
COMPOSE = yaml.safe_load((REPO / "compose.yaml").read_text(encoding="utf-8"))
SERVICES: dict[str, dict[str, Any]] = COMPOSE["services"]
DOCKERFILE = (REPO / "Dockerfile").read_text(encoding="utf-8")
ENV_EXAMPLE = (REPO / ".env.example").read_text(encoding="utf-8")
NGINX_CONF = (REPO / "deploy" / "nginx.conf").read_text(encoding="utf-8")
# Names the application reads, as opposed to those only compose.yaml fills in.
APP_PREFIXES = ("QUEUE_", "TWILIO_")


class _Recording(Mapping[str, str]):
    """An empty environment that remembers every name it is asked for."""

    def __init__(self) -> None:
        self.asked: set[str] = set()

    def __getitem__(self, name: str) -> str:
        self.asked.add(name)
        raise KeyError(name)

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0


def _names_settings_read() -> set[str]:
    environ = _Recording()
    Settings.from_env(environ=environ)
    return environ.asked


def _dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) in order, continuation lines joined, comments left out."""
    lines = [line for line in DOCKERFILE.splitlines() if not line.lstrip().startswith("#")]
    joined = re.sub(r"\\\n", " ", "\n".join(lines))
    return [
        (word.upper(), rest.strip())
        for word, _, rest in (line.strip().partition(" ") for line in joined.splitlines())
        if word
    ]


def _final_stage() -> list[tuple[str, str]]:
    instructions = _dockerfile_instructions()
    last_from = max(i for i, (word, _) in enumerate(instructions) if word == "FROM")
    return instructions[last_from:]


def _command_line(command: str | list[str]) -> str:
    return command if isinstance(command, str) else shlex.join(command)


def _queue_app_calls(command: str | list[str]) -> list[list[str]]:
    """Each ``queue-app ...`` in a command, shell form (``a && b``) or exec form."""
    if isinstance(command, list) and command[:2] == ["sh", "-c"]:
        command = command[2]
    calls = []
    for part in re.split(r"&&|\|\||;", _command_line(command)):
        words = shlex.split(part)
        if words and words[0] == "queue-app":
            calls.append(words[1:])
    return calls


def _all_queue_app_calls() -> list[list[str]]:
    calls = [
        call
        for service in SERVICES.values()
        if "command" in service
        for call in _queue_app_calls(service["command"])
    ]
    calls += [
        call
        for word, rest in _dockerfile_instructions()
        if word == "CMD"
        for call in _queue_app_calls(json.loads(rest))
    ]
    return calls


def _option(args: list[str], name: str) -> str:
    return args[args.index(name) + 1]


def _web_services() -> dict[str, dict[str, Any]]:
    return {
        name: service
        for name, service in SERVICES.items()
        if ["serve"] in [call[:1] for call in _queue_app_calls(service.get("command", []))]
    }


def _worker_services() -> list[str]:
    return [
        name
        for name, service in SERVICES.items()
        if ["worker"] in _queue_app_calls(service.get("command", []))
    ]


def _interpolated(value: str) -> str:
    """compose.yaml's ${NAME:-default} and ${NAME:?message}, filled with a stand-in."""
    return re.sub(r"\$\{[^}]*\}", "filled-in", value)


def _environment(service: dict[str, Any]) -> dict[str, str]:
    return {name: _interpolated(str(value)) for name, value in service["environment"].items()}


def test_every_queue_app_command_parses_in_the_cli() -> None:
    calls = _all_queue_app_calls()
    assert {"serve", "worker", "db"} <= {call[0] for call in calls}
    for call in calls:
        command: click.Command = queue_app_cli
        args = list(call)
        while isinstance(command, click.Group) and args and args[0] in command.commands:
            command = command.commands[args.pop(0)]
        assert not isinstance(command, click.Group), f"queue-app {shlex.join(call)}: no command"
        # Parsing alone: an unknown option or a missing argument raises a UsageError.
        command.make_context(f"queue-app {command.name}", args)


def test_the_migration_service_upgrades_the_schema_and_the_others_wait_for_it() -> None:
    migrate = next(
        name
        for name, service in SERVICES.items()
        if ["db", "upgrade"] in _queue_app_calls(service.get("command", []))
    )
    assert SERVICES[migrate]["restart"] == "no"
    assert SERVICES[migrate]["depends_on"]["postgres"]["condition"] == "service_healthy"
    for name in [*_web_services(), *_worker_services()]:
        condition = SERVICES[name]["depends_on"][migrate]["condition"]
        assert condition == "service_completed_successfully", name


def test_every_application_variable_is_one_the_settings_read() -> None:
    read = _names_settings_read()
    assert {"QUEUE_DATABASE_URL", "QUEUE_RATE_LIMIT_STORAGE"} <= read
    named = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]*)=", ENV_EXAMPLE, flags=re.MULTILINE))
    for service in SERVICES.values():
        named |= set(service.get("environment") or {})
    named |= set(re.findall(r"\$\{([A-Z][A-Z0-9_]*)", (REPO / "compose.yaml").read_text()))
    unknown = sorted(n for n in named if n.startswith(APP_PREFIXES) and n not in read)
    assert unknown == [], f"no setting reads {unknown} (queue_app/settings.py)"


def test_every_variable_of_the_env_example_is_used_and_every_one_compose_needs_is_there() -> None:
    read = _names_settings_read()
    in_example = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]*)=", ENV_EXAMPLE, flags=re.MULTILINE))
    in_compose = set(re.findall(r"\$\{([A-Z][A-Z0-9_]*)", (REPO / "compose.yaml").read_text()))
    assert in_compose - in_example == set(), "compose.yaml needs them; .env.example names them"
    unused = in_example - in_compose - read
    assert unused == set(), "neither compose.yaml nor the settings read them"


def test_two_web_servers_share_rate_limits_behind_one_proxy() -> None:
    web = _web_services()
    assert len(web) == 2
    for name, service in web.items():
        settings = Settings.from_env(environ=_environment(service))
        # What `queue-app serve` checks before it starts more than one process.
        assert settings.shares_rate_limits, name
        assert settings.rate_limit_storage.startswith("redis://redis:"), name
        assert settings.trusted_proxies == 1, f"{name}: nginx alone stands in front"
        assert not settings.is_sqlite, name
        assert service["depends_on"]["redis"]["condition"] == "service_healthy", name


def test_two_workers_run_on_postgresql() -> None:
    workers = _worker_services()
    assert len(workers) == 2
    for name in workers:
        settings = Settings.from_env(environ=_environment(SERVICES[name]))
        # The health monitor's leader is elected with an advisory lock only on PostgreSQL;
        # on SQLite it is a lock file, which two containers would not share.
        assert settings.database_url.startswith("postgresql"), name


def test_nginx_passes_to_every_web_service_and_waits_for_it() -> None:
    web = _web_services()
    upstreams = dict(re.findall(r"upstream\s+(\w+)\s*\{(.*?)\}", NGINX_CONF, flags=re.DOTALL))
    (passed_to,) = re.findall(r"proxy_pass\s+http://(\w+)\s*;", NGINX_CONF)
    servers = re.findall(r"^\s*server\s+([\w.-]+):(\d+)", upstreams[passed_to], re.MULTILINE)
    ports = {name: _option(_queue_app_calls(s["command"])[0], "--port") for name, s in web.items()}
    assert dict(servers) == ports
    nginx = SERVICES["nginx"]
    assert "./deploy/nginx.conf:/etc/nginx/conf.d/default.conf:ro" in nginx["volumes"]
    (listen,) = re.findall(r"^\s*listen\s+(\d+)\s*;", NGINX_CONF, flags=re.MULTILINE)
    assert [port.rsplit(":", 1)[1] for port in nginx["ports"]] == [listen]
    waits_for = {name: dep["condition"] for name, dep in nginx["depends_on"].items()}
    assert waits_for == dict.fromkeys(web, "service_healthy")
    assert re.search(r"^\s*proxy_request_buffering\s+on;", NGINX_CONF, flags=re.MULTILINE)


def test_the_image_installs_the_package_and_runs_as_its_own_user() -> None:
    instructions = _dockerfile_instructions()
    installs = [rest for word, rest in instructions if word == "RUN" and "pip install" in rest]
    assert installs, "the Dockerfile installs the package with pip"
    for rest in installs:
        words = shlex.split(rest.split("&&")[0])
        assert "-e" not in words, rest
        assert "--editable" not in words, rest
        # No extras: [test] and [bench] stay out of the image.
        assert words[-1] == ".", rest
    final = _final_stage()
    assert final[0] == ("FROM", "python:3.11-slim")
    users = [rest for word, rest in final if word == "USER"]
    assert users, "the image runs as the user the last USER names"
    assert users[-1].split(":")[0] not in {"root", "0"}
    (cmd,) = [json.loads(rest) for word, rest in final if word == "CMD"]
    port = _option(_queue_app_calls(cmd)[0], "--port")
    assert ("EXPOSE", port) in final


def test_the_build_context_keeps_secrets_out_and_the_package_in() -> None:
    patterns = [
        line.strip()
        for line in (REPO / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert ".env" in patterns
    # Everything `pip install .` reads (setup.cfg: long_description is the README).
    needed = ["setup.cfg", "pyproject.toml", "README.md", "queue_app", "kiosk", "sms"]
    needed += ["queue_app/translations/ar/LC_MESSAGES/messages.mo", "kiosk/fonts"]
    for path in needed:
        assert (REPO / path).exists(), path
        excluded = [p for p in patterns if not p.startswith("!") and fnmatch.fnmatch(path, p)]
        assert excluded == [], f"{path} is left out of the image by {excluded}"
    assert ".env" in (REPO / ".gitignore").read_text().splitlines()


def _health_paths() -> list[tuple[str, str]]:
    """(who checks, path) for the image's HEALTHCHECK and each service's healthcheck."""
    checks = [
        ("Dockerfile", rest) for word, rest in _dockerfile_instructions() if word == "HEALTHCHECK"
    ]
    checks += [
        (name, _command_line(service["healthcheck"]["test"]))
        for name, service in _web_services().items()
    ]
    return [
        (who, path)
        for who, command in checks
        for path in re.findall(r"http://127\.0\.0\.1:\d+(/\w+)", command)
    ]


@pytest.mark.parametrize("db_kind", ["sqlite"], indirect=True)
def test_the_health_checks_ask_paths_that_answer(client: FlaskClient) -> None:
    paths = _health_paths()
    assert {path for _, path in paths} == {"/healthz", "/readyz"}
    for who, path in paths:
        assert client.get(path).status_code == 200, f"{who}: {path}"
