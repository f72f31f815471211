"""Imported by a fork server in ``test_engine_local``: records which process imported it first."""

from __future__ import annotations

import os

IMPORTED_BY = os.getpid()
