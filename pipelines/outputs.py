"""The output folder: where a run computes its outputs, and how they replace the previous run's.

```
 OUT/
   .jaif-run.json        the run marker: which files of OUT the last finished run wrote
   data/ ledger/ ...     the last finished run's outputs (and anything else the user keeps there)
   .work/                while a run is unfinished: its plan, intermediate files and
     outputs/            everything it will put into OUT (data, ledger, logs, manifest, ...)
     switch.json         while its outputs are being moved in
```
A run writes only under ``.work``; the previous run's outputs stay as they are until the new run has
passed every check (and was published where the config says). Then its outputs are switched in:
the list of files to remove (the previous marker's) and to move in is written first
(``switch.json``), the files are moved with ``os.replace`` one by one, the new marker is written and
``.work`` removed. A switch that is interrupted is finished by whatever next prepares the folder,
so OUT ends up holding exactly one run's files either way. Only files a marker lists are ever
deleted; a file in the way of a new output that no marker lists stops the run instead.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Iterable
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

WORK = ".work"  # the unfinished run's files, under the output folder
STAGED = "outputs"  # under WORK: the tree that becomes OUT when the run has succeeded
RUN_MARKER = ".jaif-run.json"  # in OUT: the files the last finished run wrote there
SWITCH_JOURNAL = "switch.json"  # under WORK: the switch in progress
PLAN_FILE = "plan.json"  # under WORK: the fingerprint of the planned run


class OutputError(RuntimeError):
    """The output folder cannot be used; the message is one line for the operator."""


def staged_tree(out: Path) -> Path:
    """Where the run planned in ``out`` writes what will become ``out``'s contents."""
    return out / WORK / STAGED


def read_plan(out: Path) -> dict[str, Any] | None:
    plan = out / WORK / PLAN_FILE
    return json.loads(plan.read_text()) if plan.is_file() else None


def read_marker(out: Path) -> dict[str, Any] | None:
    """The run marker of the last run finished in ``out``, or None."""
    marker = out / RUN_MARKER
    if not marker.is_file():
        return None
    try:
        content = json.loads(marker.read_text())
    except ValueError:
        raise OutputError(f"{marker} is not a run marker this tool wrote (not JSON)") from None
    files = content.get("files") if isinstance(content, dict) else None
    if not isinstance(files, list) or not all(isinstance(f, str) and _is_inside(f) for f in files):
        raise OutputError(f"{marker} is not a run marker this tool wrote (bad file list)")
    return content


def prepare_output(out: Path, fingerprint: str) -> bool:
    """Make ``out`` ready for a run; True when an unfinished run of the same plan is resumed there.

    A switch left half-done is finished first. An unfinished run of another plan is discarded (its
    outputs never left ``.work``); a non-empty folder with no run marker is refused.
    """
    if out.exists() and not out.is_dir():
        raise OutputError(f"output {out} exists and is not a directory")
    finish_switch(out)
    work = out / WORK
    plan = read_plan(out)
    if plan is not None and plan["fingerprint"] == fingerprint:
        return True
    if work.exists():
        if plan is None:
            raise OutputError(
                f"{work} was not made by a run of this tool; remove it or choose another --output"
            )
        shutil.rmtree(work)
    elif out.is_dir() and any(out.iterdir()) and read_marker(out) is None:
        raise OutputError(
            f"output directory {out} is not empty and holds no run of this tool (no {RUN_MARKER}); "
            "choose another --output"
        )
    staged_tree(out).mkdir(parents=True)
    _write_json(work / PLAN_FILE, {"fingerprint": fingerprint, "started_unix": time.time()})
    return False


def switch_outputs(out: Path, run_id: str) -> list[str]:
    """Replace the previous run's outputs in ``out`` with the staged ones; the files now in place.

    Refuses (before anything moves) when a new output would replace a file that no run marker lists.
    """
    tree = staged_tree(out)
    new = sorted(p.relative_to(tree).as_posix() for p in tree.rglob("*") if p.is_file() or p.is_symlink())
    marker = read_marker(out)
    old = set(marker["files"]) if marker else set()
    blocked = [name for name in new if _in_the_way(out, name, old)]
    if blocked:
        more = f" (and {len(blocked) - 1} more)" if len(blocked) > 1 else ""
        raise OutputError(
            f"{out / blocked[0]} is in the way of this run's outputs and was not written by it{more}; "
            "move it away and run the same command again"
        )
    journal = {"run_id": run_id, "remove": sorted(old - set(new)), "add": new}
    _write_json(out / WORK / SWITCH_JOURNAL, journal)
    finish_switch(out)
    return new


def finish_switch(out: Path) -> None:
    """Carry out the switch that ``.work/switch.json`` describes, if there is one (idempotent)."""
    journal_path = out / WORK / SWITCH_JOURNAL
    if not journal_path.is_file():
        return
    journal = json.loads(journal_path.read_text())
    tree = staged_tree(out)
    for name in journal["remove"]:
        if _is_inside(name):
            (out / name).unlink(missing_ok=True)
    for name in journal["add"]:
        source = tree / name
        if source.exists() or source.is_symlink():
            (out / name).parent.mkdir(parents=True, exist_ok=True)
            os.replace(source, out / name)
    _prune_empty_folders(out, journal["remove"])
    _write_json(out / RUN_MARKER, {"run_id": journal["run_id"], "files": journal["add"]})
    shutil.rmtree(out / WORK)


def check_inputs_apart(out: Path, inputs: Iterable[str], listing_inside: Iterable[int]) -> None:
    """Refuse an output folder that holds an input file, or one that a source's listing reaches into
    (``listing_inside``: the indices of those sources; a later run would read this run's outputs)."""
    out = out.resolve()
    for location in inputs:
        path = _local_path(location)
        if path is not None and path.resolve().is_relative_to(out):
            raise OutputError(f"input {path} lies inside the output folder {out}; choose another --output")
    index = next(iter(listing_inside), None)
    if index is not None:
        raise OutputError(
            f"the output folder {out} lies where sources[{index}] lists its input files; "
            "choose an --output outside it"
        )


def _local_path(location: str) -> Path | None:
    parts = urlsplit(location)
    if parts.scheme == "file":
        return Path(parts.path)
    if "://" not in location:
        return Path(location)
    return None


def _is_inside(name: str) -> bool:
    """Whether a marker's or journal's relative path stays inside the output folder."""
    path = PurePosixPath(name)
    return bool(name) and not path.is_absolute() and ".." not in path.parts


def _in_the_way(out: Path, name: str, ours: set[str]) -> bool:
    """Whether moving ``name`` into ``out`` would replace something no marker lists."""
    target = out / name
    if name not in ours and (target.exists() or target.is_symlink()):
        return True
    folders = [parent for parent in target.parents if parent != out and parent.is_relative_to(out)]
    return any(folder.exists() and not folder.is_dir() for folder in folders)


def _prune_empty_folders(out: Path, removed: Iterable[str]) -> None:
    """Remove the folders that removing ``removed`` emptied (never ``out`` itself)."""
    folders = {p for name in removed for p in (out / name).parents if p != out and p.is_relative_to(out)}
    for folder in sorted(folders, key=lambda p: len(p.parts), reverse=True):
        if folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()


def _write_json(path: Path, content: dict[str, Any]) -> None:
    """Write ``content`` to ``path`` so that a reader sees the old file or the whole new one."""
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(json.dumps(content, indent=1) + "\n")
    os.replace(temporary, path)
