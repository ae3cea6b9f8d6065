"""The package as a user gets it: installed (not editable) into a new virtual environment.

Templates, static files, translations and migrations are data files; a missing line in
``package_data`` goes unnoticed by every other test, which all run from the source tree. Here the
installed ``queue-app`` command migrates a database, loads a config file, makes a token and serves
the API and pages with gunicorn, from a working directory that holds no source.

pip fetches the dependencies as this machine configures it (its wheel folders, or PyPI); the tests
themselves talk only to the server they start on loopback.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("queue_app", "kiosk", "sms")
# Source files that only developers need: message extraction templates and their settings.
NOT_SHIPPED = ("*.pot", "babel.cfg")
STARTUP_S = 45
BRANCH = "test-branch"

CONFIG = """\
backends:
  - code: civil-registry
    name: {ar: "منظومة الأحوال المدنية", en: "Civil registry system"}
branches:
  - code: test-branch
    name: {ar: "فرع الاختبار", en: "Test branch"}
    timezone: Africa/Cairo
    country: EG
    hours: {sun: ["00:00", "23:59"], mon: ["00:00", "23:59"], tue: ["00:00", "23:59"],
            wed: ["00:00", "23:59"], thu: ["00:00", "23:59"], fri: ["00:00", "23:59"],
            sat: ["00:00", "23:59"]}
    reschedule_after_minutes: 20
    evening_notice: "18:00"
    services:
      - {code: id-card, letter: A, name: {ar: "بطاقة الرقم القومي", en: "National ID card"},
         backends: [civil-registry], avg_service_minutes: 6, slot_minutes: 30}
    counters:
      - {code: "1", services: [id-card], open: true}
"""


@dataclass(frozen=True)
class Installed:
    venv: Path
    source: Path  # the copy of the repository it was built from
    env: dict[str, str]

    @property
    def python(self) -> Path:
        return self.venv / "bin" / "python"

    @property
    def queue_app(self) -> Path:
        return self.venv / "bin" / "queue-app"


def _run(args: list[str | Path], *, timeout: float, **kwargs: object) -> str:
    result = subprocess.run(
        [str(a) for a in args], capture_output=True, text=True, timeout=timeout, **kwargs
    )
    assert result.returncode == 0, f"{args} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def _source_files() -> list[Path]:
    """What a clean checkout holds: tracked and new files, without build/, caches or venvs."""
    try:
        listed = subprocess.run(
            ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
            cwd=REPO,
            capture_output=True,
            check=True,
            timeout=60,
        ).stdout.decode()
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("needs a git checkout to know which files are source")
    return [Path(name) for name in listed.split("\0") if name and (REPO / name).is_file()]


def _copy_source(target: Path) -> Path:
    for relative in _source_files():
        (target / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / relative, target / relative)
    return target


def _clean_env(venv: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV"} and not k.startswith("QUEUE_")
    }
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    root = tmp_path_factory.mktemp("install")
    source = _copy_source(root / "source")
    venv = root / "venv"
    _run([sys.executable, "-m", "venv", venv], timeout=120)
    env = _clean_env(venv)
    # Not editable, and from the copy: what lands in site-packages is only what the build ships.
    _run(
        [venv / "bin" / "python", "-m", "pip", "install", "--no-input", "--quiet", source],
        timeout=600,
        env=env,
        cwd=root,
    )
    return Installed(venv=venv, source=source, env=env)


def test_installed_modules_live_in_site_packages(installed: Installed, tmp_path: Path) -> None:
    probe = (
        "import json, sysconfig, queue_app, kiosk, sms; "
        "print(json.dumps({'purelib': sysconfig.get_paths()['purelib'], "
        "'files': [m.__file__ for m in (queue_app, kiosk, sms)]}))"
    )
    # -I: neither the working directory nor PYTHONPATH may lend a copy of the source.
    found = json.loads(
        _run([installed.python, "-I", "-c", probe], timeout=60, cwd=tmp_path, env=installed.env)
    )
    site_packages = Path(found["purelib"]).resolve()
    assert site_packages.is_relative_to(installed.venv.resolve())
    for module_file in found["files"]:
        assert Path(module_file).resolve().is_relative_to(site_packages), module_file


def test_every_package_file_ships(installed: Installed) -> None:
    purelib = _run(
        [installed.python, "-I", "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        timeout=60,
        env=installed.env,
    ).strip()
    missing = []
    for package in PACKAGES:
        for path in (installed.source / package).rglob("*"):
            relative = path.relative_to(installed.source)
            if (
                path.is_dir()
                or "__pycache__" in relative.parts
                or any(path.match(pattern) for pattern in NOT_SHIPPED)
            ):
                continue
            if not (Path(purelib) / relative).is_file():
                missing.append(str(relative))
    assert missing == [], f"not in the installed package (see package_data in setup.cfg): {missing}"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# The environment may name an HTTP proxy; requests to our own server must not go through it.
_direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@dataclass(frozen=True)
class Reply:
    status: int
    content_type: str
    body: bytes

    def json(self) -> object:
        return json.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode()


def _request(url: str, *, body: object = None, headers: dict[str, str] | None = None) -> Reply:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, headers=dict(headers or {}))
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with _direct.open(request, timeout=15) as response:
            return Reply(response.status, response.headers.get_content_type(), response.read())
    except urllib.error.HTTPError as err:
        return Reply(err.code, err.headers.get_content_type(), err.read())


@dataclass(frozen=True)
class Served:
    base: str
    kiosk_token: str
    log: Path

    def get(self, path: str, **kwargs: object) -> Reply:
        return _request(self.base + path, **kwargs)  # type: ignore[arg-type]

    def why(self, reply: Reply) -> str:
        """What to show when a reply surprises: the body and the server's log."""
        return f"{reply.status} {reply.body[:2000]!r}\n--- server log ---\n{self.log.read_text()}"


@pytest.fixture(scope="module")
def server(installed: Installed, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """The installed app, set up by its own commands and served by gunicorn; started once, as
    each start costs seconds and no test here depends on what another one wrote."""
    tmp_path = tmp_path_factory.mktemp("served")
    env = {
        **installed.env,
        "QUEUE_DATABASE_URL": f"sqlite:///{tmp_path / 'queue.sqlite3'}",
        "QUEUE_SECRET_KEY": "install-test",
        "QUEUE_PUBLIC_URL": "http://queue.test",
    }
    command = str(installed.queue_app)
    _run([command, "db", "upgrade"], timeout=120, cwd=tmp_path, env=env)
    (tmp_path / "branches.yaml").write_text(CONFIG, encoding="utf-8")
    _run([command, "load", "branches.yaml"], timeout=120, cwd=tmp_path, env=env)
    token = _run(
        [command, "token", "create", "--role", "kiosk", "--branch", BRANCH],
        timeout=120,
        cwd=tmp_path,
        env=env,
    ).split()[-1]

    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    log_path = tmp_path / "serve.log"
    with log_path.open("wb") as log:
        # A session of its own, so that gunicorn's workers can be ended with their master.
        process = subprocess.Popen(
            # One process: a new user's first serve needs no Redis for shared rate limits.
            [command, "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
            cwd=tmp_path,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + STARTUP_S
        while True:
            assert process.poll() is None, f"server exited:\n{log_path.read_text()}"
            try:
                if _request(f"{base}/healthz").status == 200:
                    break
            except OSError:
                pass  # not listening yet
            assert time.monotonic() < deadline, f"server not up:\n{log_path.read_text()}"
            time.sleep(0.2)
        yield Served(base, token, log_path)
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=20)


def test_installed_app_serves_api_and_pages(server: Served) -> None:
    branches = server.get("/api/v1/branches")
    assert branches.status == 200, server.why(branches)
    assert [b["code"] for b in branches.json()] == [BRANCH]  # type: ignore[union-attr, index]

    openapi = server.get("/api/v1/openapi.json")
    assert openapi.status == 200, server.why(openapi)
    assert "/api/v1/branches/{branch_code}/tickets" in openapi.json()["paths"]  # type: ignore[index]

    # Open all week but for one minute a night; either way the token made by the CLI works.
    taken = server.get(
        f"/api/v1/branches/{BRANCH}/tickets",
        body={"service": "id-card"},
        headers={"Authorization": f"Bearer {server.kiosk_token}"},
    )
    assert taken.status in (201, 409), server.why(taken)
    if taken.status == 201:
        ticket_page = server.get(f"/t/{taken.json()['token']}")  # type: ignore[index]
        assert ticket_page.status == 200, server.why(ticket_page)
        assert 'dir="rtl"' in ticket_page.text
    else:
        assert taken.json()["error"] == "service_closed"  # type: ignore[index]

    display = server.get(f"/display/{BRANCH}")
    assert display.status == 200, server.why(display)
    assert display.content_type == "text/html"
    assert 'dir="rtl"' in display.text

    stylesheet = server.get("/static/queue.css")
    assert stylesheet.status == 200, server.why(stylesheet)
    assert stylesheet.body


def _arabic_catalogue(source: Path) -> dict[str, str]:
    from babel.messages.pofile import read_po

    path = source / "queue_app" / "translations" / "ar" / "LC_MESSAGES" / "messages.po"
    if not path.is_file():
        return {}
    with path.open("rb") as po:
        catalogue = read_po(po)
    return {
        str(m.id): str(m.string)
        for m in catalogue
        if m.id and isinstance(m.id, str) and m.string and not m.fuzzy
    }


TRANSLATE = """
import json, sys
from pathlib import Path
from flask_babel import force_locale, gettext
from queue_app.app import create_app
from queue_app.settings import Settings

instance = Path(sys.argv[1])
app = create_app(Settings(database_url=f"sqlite:///{instance / 'q.sqlite3'}", secret_key="t",
                          instance_path=instance))
with app.test_request_context(), force_locale("ar"):
    print(json.dumps({msgid: gettext(msgid) for msgid in json.load(sys.stdin)}))
"""


def test_installed_app_speaks_arabic(installed: Installed, server: Served, tmp_path: Path) -> None:
    catalogue = _arabic_catalogue(installed.source)
    if not catalogue:
        pytest.skip("no Arabic catalogue in the source tree yet")
    # The installed app says in Arabic what the source catalogue says: the compiled .mo shipped
    # and is not older than the .po it came from.
    spoken = json.loads(
        _run(
            [installed.python, "-I", "-c", TRANSLATE, tmp_path / "instance"],
            timeout=60,
            cwd=tmp_path,
            env=installed.env,
            input=json.dumps(sorted(catalogue)),
        )
    )
    untranslated = {msgid: said for msgid, said in spoken.items() if said != catalogue[msgid]}
    assert untranslated == {}, "the installed messages.mo differs from messages.po"
    # And the served pages use it.
    board = server.get(f"/display/{BRANCH}?lang=ar")
    assert board.status == 200, server.why(board)
    assert any(arabic in board.text for arabic in catalogue.values())
