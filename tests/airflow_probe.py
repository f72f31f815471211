"""Run by ``test_airflow_dags`` in a fresh process (Airflow reads its settings at import): load the
project's DAG folder, run one DAG with ``dag.test()``, print what happened as JSON lines."""

from __future__ import annotations

import json
import sys

if __name__ == "__main__":  # worker processes re-import this module; only the parent runs a DAG
    from airflow.dag_processing.dagbag import DagBag

    folder, dag_id = sys.argv[1], sys.argv[2]
    bag = DagBag(dag_folder=folder)
    errors = {path: str(error)[-500:] for path, error in bag.import_errors.items()}
    print(json.dumps({"import_errors": errors, "dag_ids": sorted(bag.dag_ids)}), flush=True)
    dag = bag.get_dag(dag_id)
    run = dag.test()
    tasks = {ti.task_id: str(ti.state) for ti in run.get_task_instances()}
    order = [task.task_id for task in dag.topological_sort()]
    retries = {task.task_id: task.retries for task in dag.tasks}
    summary = run.get_task_instance("summary").xcom_pull(task_ids="summary") if "summary" in tasks else None
    print(
        json.dumps(
            {"state": str(run.state), "tasks": tasks, "order": order, "retries": retries, "summary": summary}
        ),
        flush=True,
    )
