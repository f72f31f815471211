"""Starting multiprocess's fork server as a fork of the driver, in one place, checked against the version.

multiprocess starts its fork server as a new interpreter, which imports every preload module again
(the project's modules, numpy, pyarrow, datatrove) before it loads the language models, and the
first worker waits for all of it. The driver has imported most of those modules already.
:func:`start_fork_server` forks the driver instead: the fork server then only imports what the
driver has not (pandas, the language models' preload module) and serves fork requests exactly as
multiprocess's own does (its ``main``), so the workers, their ``Process`` objects and the way they
end are the same. The fork server's address, liveness pipe and pid are private attributes of
``multiprocess.forkserver``; this module is the one place that sets them.

A fork carries only the thread that forks, and a lock another thread held at that moment stays
held in the child. So the driver is forked only from its main thread while no other thread runs
but those a library makes safe across a fork itself (fsspec's event loop); otherwise (and with a
multiprocess version this module does not know) the fork server is started the usual way.
"""

from __future__ import annotations

import os
import signal
import socket
import sys
import threading
from collections.abc import Sequence
from importlib import metadata

import multiprocess
from multiprocess import connection, forkserver, resource_tracker, util

SUPPORTED = ("0.70.",)  # multiprocess versions whose fork server internals this module was written for


def _fork_safe(thread: threading.Thread) -> bool:
    """Whether a fork may leave ``thread`` behind: fsspec's event loop thread, which fsspec
    forgets in a forked child (its own ``os.register_at_fork`` hook) and starts anew when needed."""
    fsspec_async = sys.modules.get("fsspec.asyn")
    return fsspec_async is not None and thread is getattr(fsspec_async, "iothread", [None])[0]


def _can_fork_driver() -> bool:
    others = [t for t in threading.enumerate() if t is not threading.main_thread()]
    return (
        metadata.version("multiprocess").startswith(SUPPORTED)
        and threading.current_thread() is threading.main_thread()
        and all(_fork_safe(thread) for thread in others)
    )


def start_fork_server(modules: Sequence[str]) -> None:
    """Make sure this process's fork server runs, importing ``modules`` before it forks a worker.

    A fork server already running stays as it is (with the modules it was started with). Otherwise
    it is forked from this process when that is safe (module docstring), else spawned by multiprocess.
    """
    context = multiprocess.get_context("forkserver")
    context.set_forkserver_preload(list(modules))
    server = forkserver._forkserver
    with server._lock:
        alive = server._forkserver_pid is not None and os.waitpid(server._forkserver_pid, os.WNOHANG)[0] == 0
        if not alive and _can_fork_driver():
            if server._forkserver_pid is not None:  # it ended: forget it, as ensure_running does
                os.close(server._forkserver_alive_fd)
                server._forkserver_address = server._forkserver_alive_fd = server._forkserver_pid = None
            _fork_server(server, list(modules))
    forkserver.ensure_running()  # a no-op once the forked server runs; the usual start otherwise


def _fork_server(server: forkserver.ForkServer, modules: list[str]) -> None:
    """What ``ForkServer.ensure_running`` does, with ``os.fork`` in place of a new interpreter."""
    resource_tracker.ensure_running()
    with socket.socket(socket.AF_UNIX) as listener:
        address = connection.arbitrary_address("AF_UNIX")
        listener.bind(address)
        if not util.is_abstract_socket_namespace(address):
            os.chmod(address, 0o600)
        listener.listen()
        # every client holds the write end of the "alive" pipe; the server ends when the read end
        # reaches EOF, so the server itself must not hold a write end
        alive_r, alive_w = os.pipe()
        try:
            pid = os.fork()
        except BaseException:
            os.close(alive_r)
            os.close(alive_w)
            raise
        if pid == 0:
            _serve(server, listener.fileno(), alive_r, alive_w, [m for m in modules if m != "__main__"])
        os.close(alive_r)
    server._forkserver_address = address
    server._forkserver_alive_fd = alive_w
    server._forkserver_pid = pid


def _serve(
    server: forkserver.ForkServer, listener_fd: int, alive_r: int, alive_w: int, modules: list[str]
) -> None:
    """The forked fork server: never returns (it ends with ``os._exit``)."""
    code = 1
    try:
        # Ctrl-C reaches the whole process group; the driver answers it (multiprocess's main ignores
        # it too, once it has imported the modules)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        os.close(alive_w)
        server._lock = threading.Lock()  # the driver held it while it forked
        forkserver.main(listener_fd, alive_r, modules)
    except SystemExit as exc:  # how main ends once every client has gone
        code = exc.code if isinstance(exc.code, int) else 0
    except BaseException:  # noqa: BLE001 - reported, then the process ends
        sys.excepthook(*sys.exc_info())
    finally:
        sys.stderr.flush()
        os._exit(code)
