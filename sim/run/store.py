"""Atomic writes: a result appears complete or not at all.

A run's folder is written under a temporary name beside its destination and
renamed into place in one step, so an interrupted run never leaves a folder that
looks finished.  Single files go the same way (temp file + ``os.replace``).
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from sim.scenario.errors import UsageError

__all__ = ["OutputError", "write_file_atomic", "write_dir_atomic", "refuse_to_replace", "inside_outputs", "read_json", "is_int", "is_number"]


class OutputError(OSError):
    """Outputs could not be written: a full disk, a folder without permission.

    Not a mistake in anyone's scenario, so the CLI reports it with its own exit
    status; the message names the result that was not written, not a temporary file.
    """

    def __init__(self, path: Path, error: OSError) -> None:
        super().__init__(error.errno, error.strerror or str(error), str(path))

    def __str__(self) -> str:
        return f"could not write {self.filename}: {self.strerror}"


def write_file_atomic(path: Path, data: str | bytes) -> None:
    """Write ``data`` to ``path`` via a temporary file in the same folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = "wb" if isinstance(data, bytes) else "w"
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    # mkstemp makes the file private (0600); a result is an ordinary file, readable as any other.
    os.fchmod(fd, _ordinary_file_mode())
    try:
        with os.fdopen(fd, mode, **({} if isinstance(data, bytes) else {"encoding": "utf-8", "newline": "\n"})) as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException as error:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(error, OSError) and not isinstance(error, OutputError):
            raise OutputError(path, error) from error
        raise


def _umask() -> int:
    """The process umask (reading it means setting it; it is put back at once)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _ordinary_file_mode() -> int:
    """0666 less the umask: the mode ``open()`` would give a new file."""
    return 0o666 & ~_umask()


#: Errors that say the path itself is wrong (a file in the way, no such place, no right to
#: write there), as opposed to the machine's (a full disk, an I/O error).
_PATH_ERRORS = frozenset({errno.EEXIST, errno.ENOTDIR, errno.ENOENT, errno.EACCES, errno.EPERM, errno.EROFS, errno.EISDIR})


def write_dir_atomic(destination: Path, fill: Callable[[Path], None], *, marker: str | None = None) -> Path:
    """Build a folder with ``fill(tmp_dir)`` and move it to ``destination`` in one rename.

    Parameters
    ----------
    destination
        The folder to write.  If it exists it must be empty or an earlier result
        (holding ``marker``), and it is replaced only once the new folder is complete.
    fill
        Writes the folder's contents into the temporary folder it is given.
    marker
        The file whose presence marks an earlier, complete result (a run's
        ``manifest.json``); None: only an empty folder is replaced.

    Raises
    ------
    UsageError
        When ``destination`` is a file, or a folder holding anything else: replacing
        it would delete what someone put there.
    """
    # abspath, not resolve: "." becomes the folder it names (it has no name of its own),
    # while a symlink stays the link the user pointed at.
    destination = Path(os.path.abspath(destination))
    _refuse_foreign(destination, marker)
    try:
        destination.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{destination.name}.", suffix=".partial", dir=destination.parent))
    except OSError as error:
        if error.errno not in _PATH_ERRORS:
            raise OutputError(destination, error) from error  # the machine's (a full disk): exit 1
        # Where the result cannot even begin (a file in the way, no such place, no
        # permission), the path is the user's to change: named as given, not the temporary folder.
        found = f"{error.strerror or error}" + (f" ({error.filename})" if error.filename and "partial" not in str(error.filename) else "")
        raise UsageError(f"{destination}: expected a folder that can be written, found: {found}") from None
    # mkdtemp makes the folder private (0700); a result folder is an ordinary one.
    os.chmod(tmp, 0o777 & ~_umask())
    try:
        fill(tmp)
        if destination.exists():
            old = destination.with_name(f".{destination.name}.old-{os.getpid()}")
            os.rename(destination, old)
            os.rename(tmp, destination)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.rename(tmp, destination)
    except BaseException as error:
        shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(error, OSError):
            # Named by the folder the user asked for, not the temporary one inside it.
            raise OutputError(destination, error) from error
        raise
    return destination


def refuse_to_replace(folder: str | Path, names: Sequence[str], markers: Sequence[str]) -> None:
    """Refuse to write ``names`` into ``folder`` over files that are not an earlier result's.

    A command that writes its files into a folder the user names (``compare --out .``)
    replaces only its own: a file it would write over is refused unless the folder
    holds one of ``markers``, the files that mark an earlier result of the same
    command.  A new or empty folder, or one holding none of ``names``, is fine.

    Raises
    ------
    UsageError
        Naming the first file that would be replaced.
    """
    folder = Path(folder)
    if not folder.is_dir() or any((folder / marker).exists() for marker in markers):
        return
    for name in names:
        if (folder / name).exists():
            raise UsageError(
                f"{folder / name}: expected a new file, or a folder holding an earlier result ({', '.join(markers)}),"
                " found a file of another origin; not replaced"
            )


def _refuse_foreign(destination: Path, marker: str | None) -> None:
    """Refuse to replace anything but an empty folder or an earlier result."""
    if not destination.exists() and not destination.is_symlink():
        return
    if not destination.is_dir():
        raise UsageError(f"{destination}: expected a folder to write a result into, found a file")
    if not any(destination.iterdir()):
        return
    if marker is not None and (destination / marker).is_file():
        return
    earlier = f"or an earlier result (holding {marker})" if marker else "or an empty one"
    raise UsageError(
        f"{destination}: expected a new folder {earlier}, found a folder holding other files; "
        "not replaced, since that would delete them"
    )


def inside_outputs(outputs_root: Path, name: str) -> Path:
    """``outputs_root/name``, refusing any name that would lead outside ``outputs_root``."""
    root = Path(outputs_root).resolve()
    candidate = (root / name).resolve()
    if candidate.parent != root or name in ("", ".", ".."):
        raise UsageError(f"output name {name!r}: expected a plain folder name inside {outputs_root}, found a path leading elsewhere")
    return candidate


def read_json(path: Path, expected: str) -> Any:
    """The JSON in a file the commands wrote; a :class:`UsageError` naming the file (and line) if it does not parse.

    Outputs are written atomically, so a file that does not parse was damaged or edited
    after it was written: the user's to fix (or to write again), not a bug.  ``expected``
    says what the file should be, for the message.
    """
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise UsageError(f"{path}: expected {expected}, found bytes that are not UTF-8 text") from None
    except json.JSONDecodeError as error:
        raise UsageError(f"{path}:{error.lineno}:{error.colno}: expected {expected}, found invalid JSON ({error.msg})") from None


def is_int(value: Any) -> bool:
    """An integer read from JSON (``true`` is not a count)."""
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: Any) -> bool:
    """A number read from JSON (``true`` is not one)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)
