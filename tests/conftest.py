"""The shared fixtures, registered once for the whole session.

A session-scoped fixture imported by name into several test modules is a fixture *of each module*:
pytest built the shipped checkpoint's copy, the app server and the training run once per importing
module (a path of its own each time, so the app's per-process caches, keyed by path, missed too).
Defined here they are built once and shared; test modules name them as arguments and import nothing."""
from __future__ import annotations

from app_fixtures import corrupt_model, default_model, gru2_model, lstm_model, run_model  # noqa: F401
from browser_fixtures import app_server, browser_model, chromium  # noqa: F401
