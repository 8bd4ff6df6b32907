"""The shared fixtures, registered once for the whole session.

A session-scoped fixture imported by name into several test modules is a fixture *of each module*:
pytest built the shipped checkpoint's copy, the app server and the training run once per importing
module (a path of its own each time, so the app's per-process caches, keyed by path, missed too).
Defined here they are built once and shared; test modules name them as arguments and import nothing."""
from __future__ import annotations

import pytest

from app_fixtures import corrupt_model, default_model, gru2_model, lstm_model, run_model  # noqa: F401
from browser_card import reference_card  # noqa: F401
from browser_fixtures import app_server, browser_model, chromium  # noqa: F401
from browser_pages import _page_as_opened, app, unchanged_app  # noqa: F401


def pytest_collection_modifyitems(config, items):
    """Every test that drives a browser (asks for the chromium fixture, directly or through another
    fixture) carries @pytest.mark.browser, so `-m "not browser"` leaves out exactly those: a run that
    collects one without it stops here, naming it."""
    unmarked = [item.nodeid for item in items
                if "chromium" in getattr(item, "fixturenames", ()) and item.get_closest_marker("browser") is None]
    if unmarked:
        raise pytest.UsageError("these tests drive a browser (the chromium fixture) without "
                                "@pytest.mark.browser:\n  " + "\n  ".join(unmarked))
