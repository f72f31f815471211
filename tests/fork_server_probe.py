"""Run by ``test_engine_local`` in a new interpreter, so that no thread another test left running is
in this driver: one probe task of the local engine on a fork server this process starts, with a
module only this driver's memory holds (:data:`DRIVER_MARKER`) and fsspec's event loop running;
with ``thread``, also a thread of its own. Prints the task's probe record and this process's pid
as JSON.

    python -m tests.fork_server_probe FOLDER [thread]
"""

from __future__ import annotations

import json
import os
import sys
import threading
import types
from pathlib import Path

import fsspec.asyn

from pipelines.engines.base import Phase
from pipelines.engines.local import LocalEngine
from tests.test_engine_local import DRIVER_MARKER, ProbeStep


def main() -> None:
    folder = Path(sys.argv[1])
    fsspec.asyn.get_loop()  # fsspec's event loop thread, which a fork may leave behind
    sys.modules[DRIVER_MARKER] = types.ModuleType(DRIVER_MARKER)
    stop = threading.Event()
    other = threading.Thread(target=stop.wait) if sys.argv[2:] == ["thread"] else None
    if other is not None:
        other.start()
    try:
        phase = Phase("probe", "probe", [ProbeStep(str(folder))], tasks=1)
        LocalEngine(workers=1).run([phase], folder / "logs")
    finally:
        stop.set()
        if other is not None:
            other.join()
    record = json.loads((folder / "0.json").read_text())
    print(json.dumps({**record, "driver": os.getpid()}))


if __name__ == "__main__":
    main()
