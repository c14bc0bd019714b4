"""``OUT/manifest.jsonl``: one JSON line per finished job, the record a rerun resumes from.

Only the driver appends to it, one whole line per job (:func:`append_record`), so an
interrupted sweep leaves a manifest whose every line is whole. A job's latest line wins
(:func:`read_manifest`); a line that is torn, not UTF-8, not JSON, or not of a record's shape
(:class:`Record`: a line edited by hand or by another tool) is ignored, and that job is run
again. So is a record naming a file outside ``OUT``: every path must be ``JOBID/NAME`` (plain
names, nothing a browser or the file system could read as another folder) and must still
resolve inside ``OUT`` with symlinks followed (:func:`inside`), so neither the skip test nor
the gallery's links ever reach past ``OUT``.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from enum import Enum
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from layerlapse.errors import LayerlapseError

MANIFEST = "manifest.jsonl"
#: a file or folder name a manifest (or a worker) may give: no separator of any system, no
#: leading dot (``..``, hidden files), nothing a URL reads specially (``%``, ``?``, ``#``)
NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,254}")


def plain_name(name: str) -> bool:
    """Whether ``name`` is one :data:`NAME`: a file in the folder it is joined to, and no other."""
    return NAME.fullmatch(name) is not None


class _Named(str, Enum):
    """A name written into sweep files and manifests: a ``str``, so JSON and TOML hold the bare
    name; ``str()`` and f-strings give the name too (Python 3.11 would give ``Class.MEMBER``)."""

    def __str__(self) -> str:
        return str(self.value)


class JobOutput(_Named):
    """What a sweep's ``outputs`` may ask each job to make, in the order a job lists them."""

    MOVIE = "movie"
    SHEET = "sheet"
    FIGURE = "figure"
    TRAJECTORY = "trajectory"
    CERTIFICATE = "certificate"  # ``layerlapse inspect``'s certificate.csv, .json and .png


class OutputKind(_Named):
    """The kind of one file a finished job's record lists."""

    NETWORK = "network"
    NETWORK_NPZ = "network-npz"  # the torch-free copy drawing loads
    MOVIE = "movie"
    TRAJECTORY = "trajectory"
    FIRST_FRAME = "first-frame"  # the gallery's thumbnail of a job that makes no still
    SHEET = "sheet"
    FIGURE = "figure"
    CERTIFICATE_CSV = "certificate-csv"
    CERTIFICATE_JSON = "certificate-json"
    CERTIFICATE_PNG = "certificate-png"

    @classmethod
    def certificate(cls, suffix: str) -> OutputKind:
        """The kind of the certificate file with this suffix (``".csv"``)."""
        return cls(f"certificate-{suffix.removeprefix('.')}")


class Status(_Named):
    """How a job ended."""

    DONE = "done"
    FAILED = "failed"


# strict: a line of the wrong types (a size of 1.0 or true, an accuracy of "high") is not
# coerced into a record but ignored; the enums are read from their JSON names
class Output(BaseModel):
    """One file a job made: ``path`` (``JOBID/NAME``, relative to OUT), its size and SHA-256."""

    model_config = ConfigDict(frozen=True, strict=True)

    kind: OutputKind = Field(strict=False)
    path: str
    size: int
    sha256: str

    @field_validator("path")
    @classmethod
    def _job_file(cls, path: str) -> str:
        # what the driver writes; anything else (absolute, "..", a backslash a browser takes
        # for a slash) is not a record's shape
        parts = path.split("/")
        if len(parts) != 2 or not all(plain_name(part) for part in parts):
            raise ValueError(f"{path!r} is not JOBID/NAME")
        return path


class Record(BaseModel):
    """One manifest line: a finished job's inputs, how it ended, and the files it made."""

    model_config = ConfigDict(frozen=True, strict=True)

    id: str
    inputs: dict[str, Any] = Field(default_factory=dict, description="Job.inputs(): all that decides its files")
    status: Status = Field(strict=False)
    outputs: list[Output] = Field(description="none when the job failed")
    accuracy: float | None = None
    network: str | None = Field(None, description="the trained network in words")
    certificate: str | None = Field(None, description="the certificate's summary, if one was made")
    wall_s: float | None = None
    worker: str | None = Field(None, description="HOST:PID of the worker that ran it")
    error: str | None = Field(None, description="why it failed, in one line")
    finished: str | None = Field(None, description="when the driver recorded it (%Y-%m-%dT%H:%M:%S%z)")

    @model_validator(mode="after")
    def _done_lists_its_files(self) -> Record:
        if self.status is Status.DONE and not self.outputs:
            raise ValueError("a done job lists its files")
        return self

    def line(self) -> str:
        """The record as one manifest line (keys sorted; the enums as their names)."""
        return json.dumps(self.model_dump(), sort_keys=True) + "\n"


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def inside(out: Path, path: Path) -> bool:
    """Whether ``path``, symlinks followed, is in ``out`` (itself resolved), below its top."""
    try:
        real = path.resolve()
    except (OSError, RuntimeError):  # a symlink loop
        return False
    return real != out and real.is_relative_to(out)


def read_manifest(out: Path) -> dict[str, Record]:
    """The latest record of each job id in ``out``'s manifest; a line that is not whole JSON
    (a crash), not a record's shape, or names a file that resolves outside ``out`` is ignored."""
    latest: dict[str, Record] = {}
    top = out.resolve()
    path = out / MANIFEST
    try:
        lines = path.read_bytes().splitlines()
    except FileNotFoundError:
        return latest
    except OSError as exc:  # a folder of that name, unreadable
        raise LayerlapseError(f"out: cannot read the manifest {str(path)!r} ({exc.strerror or exc}); it should be "
                              "the file layerlapse batch appends to") from None
    for line in lines:
        try:
            record = Record.model_validate(json.loads(line.decode("utf-8")))
        except (UnicodeDecodeError, json.JSONDecodeError, ValidationError):
            continue
        if all(inside(top, top / item.path) for item in record.outputs):
            latest[record.id] = record
    return latest


def is_done(record: Record | None, out: Path) -> bool:
    """Whether a record says done and every output it lists is still in ``out`` (symlinks
    followed) with its size and hash."""
    if record is None or record.status is not Status.DONE:
        return False
    top = out.resolve()
    for item in record.outputs:
        path = top / item.path
        if not inside(top, path) or not path.is_file() or path.stat().st_size != item.size or sha256(path) != item.sha256:
            return False
    return True


def append_record(out: Path, record: Record) -> None:
    """One whole line, written with one call and flushed to disk; a failure to write it (a
    full disk, a folder made read-only) is one line about ``out``."""
    try:
        with (out / MANIFEST).open("a", encoding="utf-8") as f:
            f.write(record.line())
            f.flush()
            os.fsync(f.fileno())
    except OSError as exc:
        raise LayerlapseError(f"out: cannot append to {str(out / MANIFEST)!r} ({exc.strerror or exc}); the jobs "
                              "recorded before are kept: make room (or make it writable), then run the batch "
                              "again") from None
