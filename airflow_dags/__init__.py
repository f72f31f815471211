"""Airflow DAGs that schedule the pipelines in ``pipelines/``; they hold no processing logic of their own."""
