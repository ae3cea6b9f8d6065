# The queue's image: one image for every role (web, worker, migrations), chosen by the command.
# compose.yaml runs it behind nginx with PostgreSQL and Redis; README.md, "Production with
# containers". The tests in tests/test_deployment_files.py keep this file and compose.yaml honest.

# Build: the package and its dependencies into a virtual environment that the runtime stage
# copies whole, so that neither pip's cache nor the source tree ends up in the image.
FROM python:3.11-slim AS build

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1

RUN python -m venv /opt/queue
WORKDIR /src
COPY . .
# Not editable: site-packages holds only what setup.cfg's package_data ships (templates, static
# files, compiled translations, migrations), as tests/test_install.py checks outside containers;
# -I: the check imports the installed copy, not the source in the working directory.
RUN /opt/queue/bin/pip install . \
    && /opt/queue/bin/python -I -c "import pathlib, queue_app; \
root = pathlib.Path(queue_app.__file__).parent; \
assert (root / 'translations/ar/LC_MESSAGES/messages.mo').is_file(), 'no compiled catalog'; \
assert (root / 'migrations/versions').is_dir(), 'no migrations'"

# Run: the slim Python and the environment, owned by root and run by an account of its own.
FROM python:3.11-slim

# The working directory holds what a process writes of its own: the SQLite file and its lock
# when no QUEUE_DATABASE_URL is given (the default instance folder is ./instance).
RUN groupadd --gid 10001 queue \
    && useradd --uid 10001 --gid queue --home-dir /var/lib/queue --create-home \
       --shell /usr/sbin/nologin queue

COPY --from=build /opt/queue /opt/queue

ENV PATH=/opt/queue/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1

USER queue:queue
WORKDIR /var/lib/queue

EXPOSE 8000

# Liveness only: the process answers, whatever the database does (GET /readyz asks the database;
# compose.yaml uses that one to decide when nginx may start).
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status != 200)"]

# The web server. More than one process needs QUEUE_RATE_LIMIT_STORAGE=redis://...: without it
# `serve` refuses to start (each process would keep its own rate-limit counts).
CMD ["queue-app", "serve", "--host", "0.0.0.0", "--port", "8000"]
