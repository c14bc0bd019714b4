"""Data files (``.npz``, ``.csv``, ``.npy`` with a labels ``.npy``): a user's labelled points
become a scene (:meth:`~layerlapse.scenes.base.Scene.from_points`) and a preset with the
defaults a point cloud gets (:func:`data_preset`).

Files are read bounded: at most :data:`~layerlapse.limits.MAX_DATA_FILE_BYTES` (an
``.npz`` by its members' uncompressed sizes, before any is read), never unpickled
(``np.load(allow_pickle=False)``). A bad file is one line naming the file and the field,
before any training.
"""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from layerlapse.app.claims import NUMBERS, Claim
from layerlapse.app.presets import Preset
from layerlapse.draw.style import CAMERAS
from layerlapse.errors import LayerlapseError
from layerlapse.limits import MAX_DATA_FILE_BYTES, MAX_WIDTH
from layerlapse.networks.model import NetworkConfig
from layerlapse.networks.train import TrainConfig
from layerlapse.scenes.base import Scene

__all__ = ["DATA_EXTENSIONS", "data_preset", "is_data_file", "load_data"]

DATA_EXTENSIONS = (".npz", ".csv", ".npy")
#: the keys of an .npz's features and labels, in the order they are looked for
X_KEYS = ("X", "x", "features", "data")
Y_KEYS = ("y", "labels", "targets", "target", "label", "classes")
#: a CSV column holding the labels, by its header (any case); else the last column
LABEL_COLUMNS = ("label", "labels", "class", "target", "y")
#: the widest default hidden layer for data: three layers of the input's width up to this
DATA_WIDTH = 64
#: sample-epochs of default training (epochs x points): 300 epochs of 2,000 points, 30 of 10^5
DATA_SAMPLE_EPOCHS = 600_000


def is_data_file(ref: str | Path) -> bool:
    """Whether ``ref`` names a data file by its extension."""
    return Path(str(ref)).suffix.lower() in DATA_EXTENSIONS


def load_data(path: str | Path, labels: str | Path | None = None) -> Scene:
    """The scene of a data file: one class of points per label.

    Parameters
    ----------
    path
        ``.npz`` (features under ``X``, ``x``, ``features`` or ``data``; labels under ``y``,
        ``labels``, ``targets``, ``target``, ``label`` or ``classes``; class names under
        ``names``, optional), ``.csv`` (feature columns and a label column: the one headed
        label, class, target or y, else the last; labels may be words) or ``.npy`` (features
        only: then ``labels`` names a ``.npy`` of labels).
    labels
        The labels' ``.npy`` file, for a ``.npy`` of features.

    Returns
    -------
    Scene
        Named after the file's stem (outputs go to ``outputs/<stem>/``); see
        :meth:`Scene.from_points` for what the data may hold.
    """
    path = Path(path)
    where = f"data file {str(path)!r}"
    suffix = path.suffix.lower()
    if suffix not in DATA_EXTENSIONS:
        raise LayerlapseError(f"{where}: not a data file; allowed: {', '.join(DATA_EXTENSIONS)}")
    if labels is not None and suffix != ".npy":
        raise LayerlapseError(f"labels: {str(labels)!r} is for a .npy of features; a {suffix} file holds its own labels")
    _check_size(path, where)
    if suffix == ".npz":
        X, y, names = _read_npz(path, where)
    elif suffix == ".csv":
        X, y, names = *_read_csv(path, where), None
    else:
        if labels is None:
            raise LayerlapseError(f"labels: {where} holds features only; give its labels' .npy with --labels "
                                  "labels.npy (Python: labels='labels.npy')")
        X, y, names = _read_npy(path, where), _read_labels(Path(labels)), None
    if labels is not None:
        where = f"{where} with labels {str(labels)!r}"
    try:
        return Scene.from_points(X, y, names, name=path.stem)
    except LayerlapseError as exc:
        raise LayerlapseError(f"{where}: {exc}") from None


def _check_size(path: Path, where: str) -> None:
    if not path.exists():
        raise LayerlapseError(f"{where}: no such file")
    if not path.is_file():  # a folder, a FIFO or a device would never end
        raise LayerlapseError(f"{where}: not a regular file; give a {', '.join(DATA_EXTENSIONS)} file")
    size = path.stat().st_size
    if size > MAX_DATA_FILE_BYTES:
        raise LayerlapseError(f"{where}: {size / 2**30:.1f} GiB; allowed: at most {MAX_DATA_FILE_BYTES / 2**30:.0f} GiB "
                              "(100,000 points of 1,024 coordinates fit in 0.8 GiB)")


def _load(source: Any, where: str) -> np.ndarray:
    """One array, never unpickled: an object array (Python objects) is refused, and so is a
    header declaring more bytes than the limit or the file holds (NumPy would allocate them
    before reading: a 1 kB file can ask for 48 GiB)."""
    _check_declared(source, where)
    try:
        return np.load(source, allow_pickle=False)
    except ValueError as exc:
        if "allow_pickle" in str(exc):
            raise LayerlapseError(f"{where}: holds Python objects, which only unpickling (which can run code) would "
                                  "read; save numbers, or labels as np.array(labels, dtype=str)") from None
        raise LayerlapseError(f"{where}: not a NumPy array file ({str(exc).splitlines()[0]})") from None
    except (OSError, EOFError) as exc:
        raise LayerlapseError(f"{where}: cannot read it ({exc})") from None


def _check_declared(source: Path | io.BytesIO, where: str) -> None:
    """Refuse an ``.npy`` whose header declares more data than allowed or than it holds."""
    fp = open(source, "rb") if isinstance(source, Path) else source
    start = fp.tell()
    try:
        version = np.lib.format.read_magic(fp)
        read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        shape, _, dtype = read(fp)
        header_end = fp.tell()
        held = fp.seek(0, io.SEEK_END) - header_end
    except (ValueError, EOFError, UnicodeDecodeError):
        return  # not a plain header: np.load says what is wrong with it
    finally:
        if fp is source:
            fp.seek(start)
        else:
            fp.close()
    if dtype.hasobject:
        return  # refused by np.load(allow_pickle=False), with its own line
    declared = int(np.prod(shape, dtype=object)) * dtype.itemsize
    if declared > MAX_DATA_FILE_BYTES:
        raise LayerlapseError(f"{where}: shape {tuple(shape)} of {dtype} is {declared / 2**30:.1f} GiB; allowed: at "
                              f"most {MAX_DATA_FILE_BYTES / 2**30:.0f} GiB")
    if declared > held:
        raise LayerlapseError(f"{where}: its header declares shape {tuple(shape)} of {dtype} ({declared:,} bytes) but "
                              f"it holds {held:,}; allowed: a complete array (np.save, np.savez)")


def _read_npz(path: Path, where: str) -> tuple[np.ndarray, np.ndarray, Any]:
    try:
        with zipfile.ZipFile(path) as archive:
            members = {info.filename.removesuffix(".npy"): info for info in archive.infolist()}
            total = sum(info.file_size for info in members.values())
            if total > MAX_DATA_FILE_BYTES:  # a small file can unpack to gigabytes
                raise LayerlapseError(f"{where}: unpacks to {total / 2**30:.1f} GiB; allowed: at most "
                                      f"{MAX_DATA_FILE_BYTES / 2**30:.0f} GiB")
            found = [_key(members, keys, what, where) for keys, what in ((X_KEYS, "features"), (Y_KEYS, "labels"))]
            arrays = [_load(io.BytesIO(archive.read(members[k].filename)), f"{where}: {k}")
                      for k in (*found, *(["names"] if "names" in members else []))]
    except zipfile.BadZipFile as exc:
        raise LayerlapseError(f"{where}: not an .npz archive ({exc}); save one with np.savez(path, X=X, y=y)") from None
    names = [str(v) for v in np.atleast_1d(arrays[2]).tolist()] if len(arrays) > 2 else None
    return arrays[0], arrays[1], names


def _key(members: dict[str, Any], keys: tuple[str, ...], what: str, where: str) -> str:
    """The first of ``keys`` an .npz holds, or one line naming what it holds instead."""
    key = next((k for k in keys if k in members), None)
    if key is None:
        raise LayerlapseError(f"{where}: no {what}; it holds {sorted(members) or 'no arrays'}; allowed keys: "
                              f"{', '.join(keys)} (np.savez(path, X=X, y=y))")
    return key


def _read_npy(path: Path, where: str) -> np.ndarray:
    return _load(path, where)


def _read_labels(path: Path) -> np.ndarray:
    where = f"labels {str(path)!r}"
    if path.suffix.lower() != ".npy":
        raise LayerlapseError(f"{where}: not a .npy file; save the labels with np.save('labels.npy', y)")
    _check_size(path, where)
    return _load(path, where)


def _read_csv(path: Path, where: str) -> tuple[np.ndarray, np.ndarray]:
    """Features (N, n) float and labels (N,) str of a CSV file with or without a header."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise LayerlapseError(f"{where}: not UTF-8 text (byte {exc.start}); save the CSV as UTF-8") from None
    try:
        dialect: Any = csv.Sniffer().sniff(text[:8192], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    rows = [(number, row) for number, row in enumerate(csv.reader(io.StringIO(text), dialect), 1)
            if any(cell.strip() for cell in row)]
    if not rows:
        raise LayerlapseError(f"{where}: empty; allowed: feature columns and a label column, one row a point")
    # a header has more words than a row of data (whose one word, if any, is its label)
    words = [sum(not _numeric([c]) for c in row) for _, row in rows[:2]]
    header = [c.strip() for c in rows[0][1]] if len(words) == 2 and words[0] > words[1] else None
    body = rows[1:] if header is not None else rows
    width = len(header) if header is not None else len(body[0][1]) if body else 0
    if width < 2 or not body:
        raise LayerlapseError(f"{where}: {len(body)} row{'s' * (len(body) != 1)} of {width} column{'s' * (width != 1)}; allowed: at least one feature column "
                              "and a label column, and one row a point")
    for number, row in body:
        if len(row) != width:
            raise LayerlapseError(f"{where}: line {number} has {len(row)} cells; the {'header' if header else 'first row'}"
                                  f" has {width}")
    lowered = [h.lower() for h in header or ()]
    label = next((lowered.index(c) for c in LABEL_COLUMNS if c in lowered), width - 1)
    features = [i for i in range(width) if i != label]
    cells = np.array([row for _, row in body], dtype=str)
    try:
        X = np.char.strip(cells[:, features]).astype(np.float64)
    except ValueError:
        X = None
    if X is None:
        (r, c), = _first_bad(cells[:, features])[:1]
        column = repr(header[features[c]]) if header else str(features[c] + 1)
        raise LayerlapseError(f"{where}: line {body[r][0]}, column {column} is {str(cells[r, features[c]])!r}; "
                              "allowed: numbers in every feature column")
    y = np.char.strip(cells[:, label])
    return X, (y.astype(np.float64) if _numeric(y.tolist()) else y)


def _numeric(cells: list[str]) -> bool:
    try:
        np.array([c.strip() for c in cells], dtype=str).astype(np.float64)
    except ValueError:
        return False
    return True


def _first_bad(cells: np.ndarray) -> list[tuple[int, int]]:
    for r, row in enumerate(cells.tolist()):
        for c, cell in enumerate(row):
            if not _numeric([cell]):
                return [(r, c)]
    return [(0, 0)]  # pragma: no cover - called only after a conversion failed


#: the first view's elevation (degrees) for 2-D data seen in 3-D
PLANE_ELEVATION = 55.0


def data_preset(scene: Scene) -> Preset:
    """A point cloud's defaults: three tanh layers as wide as the input (at least 3, at most
    :data:`DATA_WIDTH`), an epoch count that keeps training to some 600,000 sample-epochs
    (300 epochs up to 2,000 points, 30 at 100,000), and a neutral question for the cards:
    "How far can three width-3 tanh layers pull four classes apart?", answered from the accuracy."""
    from pydantic import ValidationError

    from layerlapse.scenes.registry import validation_message

    classes = len(scene.class_names)
    width = min(max(scene.dim, 3), DATA_WIDTH, MAX_WIDTH)
    try:
        network = NetworkConfig(input_dim=scene.dim, hidden=(width,) * 3, classes=classes, activation="tanh")
    except ValidationError as exc:
        raise LayerlapseError(validation_message("network", exc, NetworkConfig)) from None
    epochs = int(np.clip(DATA_SAMPLE_EPOCHS // max(len(scene.samples), 1), 30, 300))
    training = TrainConfig(epochs=epochs, lr=0.02, batch_size=128)
    claim = Claim("asks", f"How far can {{net}} pull {NUMBERS[classes]} classes apart?",
                  "at the last layer every sample lies in its own class's region")
    # 2-D data drawn in 3-D (the layers are 3 wide): from the iso view's 22 degrees the plane
    # of the points was a thin slanted band (a fifth of the frame's height); from 55 it reads
    # as a plane, and --camera still wins
    style = {"view": (CAMERAS["iso"][0], PLANE_ELEVATION)} if scene.dim == 2 else None
    return Preset(scene, network, training, style=style, claim=claim)
