"""The DAG file Airflow loads: a DAG for every pipeline config in ``JAIF_CONFIG_DIR``.

Environment (set in the scheduler's and workers' environment):
``JAIF_CONFIG_DIR`` (default: this project's ``configs/``), ``JAIF_OUTPUT_ROOT`` (default:
``out/`` in the project; a run of config ``NAME`` writes ``JAIF_OUTPUT_ROOT/NAME``), and
``JAIF_BASE_DIR`` (what relative source paths in the configs are relative to; default: the
project).
"""

from __future__ import annotations

import os
from pathlib import Path

from airflow_dags.factory import config_dags

PROJECT = Path(__file__).resolve().parent.parent
CONFIG_DIR = Path(os.environ.get("JAIF_CONFIG_DIR", PROJECT / "configs"))
OUTPUT_ROOT = Path(os.environ.get("JAIF_OUTPUT_ROOT", PROJECT / "out"))
BASE_DIR = Path(os.environ.get("JAIF_BASE_DIR", PROJECT))

globals().update(config_dags(CONFIG_DIR, OUTPUT_ROOT, BASE_DIR))
