"""How many web processes ``queue-app serve`` starts when QUEUE_WEB_WORKERS is not set: one on
SQLite (its threads take turns writing, sqlite_writers) or with rate limits counted in memory
(a second process would count apart), else two."""

from __future__ import annotations

import pytest

from queue_app.settings import Settings, SettingsError

PG = "postgresql://postgres@127.0.0.1:5432/queue"
REDIS = "redis://127.0.0.1:6379/0"
SHARED = {"QUEUE_DATABASE_URL": PG, "QUEUE_RATE_LIMIT_STORAGE": REDIS}


@pytest.mark.parametrize(
    ("env", "processes"),
    [
        ({}, 1),  # the embedded default: SQLite
        ({"QUEUE_RATE_LIMIT_STORAGE": REDIS}, 1),
        ({"QUEUE_DATABASE_URL": PG}, 1),  # counts in memory
        ({"QUEUE_DATABASE_URL": PG, "QUEUE_RATE_LIMIT_STORAGE": REDIS}, 2),
        (
            {"QUEUE_DATABASE_URL": PG, "QUEUE_RATE_LIMIT_STORAGE": REDIS, "QUEUE_WEB_WORKERS": "4"},
            4,
        ),
        ({"QUEUE_WEB_WORKERS": "3"}, 3),  # asked for: serve then refuses memory:// counts
    ],
)
def test_processes_by_default(tmp_path, env, processes):
    settings = Settings.from_env(env, instance_path=tmp_path)
    assert settings.web_workers == processes
    assert settings.web_threads == 8


def test_a_bad_number_of_processes_is_refused(tmp_path):
    with pytest.raises(SettingsError, match="QUEUE_WEB_WORKERS must be above zero"):
        Settings.from_env({"QUEUE_WEB_WORKERS": "0"}, instance_path=tmp_path)
