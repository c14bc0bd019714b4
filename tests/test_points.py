"""Scene.from_points: a user's labelled points as one cloud per class, the grid built around
them, the cache key, and every refusal as one line naming the field."""

import numpy as np
import pytest

from layerlapse.errors import LayerlapseError
from layerlapse.limits import MAX_POINTS
from layerlapse.scenes.base import Cloud, Curve, Scene, Surface


def blobs(n_dim, classes=3, per_class=40, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=3.0, size=(classes, n_dim))
    y = np.repeat(np.arange(classes), per_class)
    return centres[y] + rng.normal(size=(len(y), n_dim)), y


@pytest.mark.parametrize("n_dim", [1, 2, 3, 64])
def test_from_points_builds_one_cloud_per_class_and_a_grid(n_dim):
    X, y = blobs(n_dim, classes=4)
    scene = Scene.from_points(X, y)
    assert scene.dim == n_dim and scene.name == "data"
    assert scene.class_names == ("class 0", "class 1", "class 2", "class 3")
    assert [c.label for c in scene.clouds] == [0, 1, 2, 3]
    for cloud in scene.clouds:
        assert isinstance(cloud, Cloud) and np.array_equal(cloud.points, X[y == cloud.label])
    assert np.array_equal(scene.samples, X) and scene.labels.dtype == np.int64 and np.array_equal(scene.labels, y)
    lines = scene.grid.lines
    assert lines.ndim == 3 and lines.shape[2] == n_dim and lines.shape[0] >= 1
    points, _ = scene.points()
    assert points.shape == (len(X) + lines.shape[0] * lines.shape[1], n_dim)
    assert np.array_equal(points[scene.class_points()], X)  # the clouds are the class parts


@pytest.mark.parametrize("n_dim", [1, 2, 3])
def test_low_dimensional_grid_spans_the_padded_box(n_dim):
    X, y = blobs(n_dim)
    grid = Scene.from_points(X, y).grid.lines.reshape(-1, n_dim)
    assert (grid.min(0) < X.min(0)).all() and (grid.max(0) > X.max(0)).all()
    side = float(np.ptp(X, axis=0).max())
    assert (grid.min(0) > X.min(0) - 0.2 * side).all() and (grid.max(0) < X.max(0) + 0.2 * side).all()


def test_wide_grid_lies_in_the_main_principal_directions():
    rng = np.random.default_rng(1)
    basis = np.linalg.qr(rng.normal(size=(64, 3)))[0]  # the data spreads in a 3-D subspace of R^64
    X = rng.normal(size=(300, 3)) * [5.0, 3.0, 2.0] @ basis.T + 7.0
    y = (X @ basis[:, 0] > 7.0 * basis[:, 0].sum()).astype(int)
    lines = Scene.from_points(X, y).grid.lines
    assert lines.shape == (48, 48, 64)
    offsets = lines.reshape(-1, 64) - X.mean(0)
    off_plane = offsets - offsets @ basis @ basis.T
    assert np.abs(off_plane).max() < 1e-8  # every grid point in the data's span, through its mean
    coords = offsets @ basis
    assert np.ptp(coords[:, 0]) > np.ptp(X @ basis[:, 0])  # spans the data's spread


def test_string_labels_take_sorted_order_unless_named():
    X, y = blobs(2)
    words = np.array(["cat", "ant", "bee"])[y]
    scene = Scene.from_points(X, words)
    assert scene.class_names == ("ant", "bee", "cat")
    assert np.array_equal(np.array(scene.class_names)[scene.labels], words)
    named = Scene.from_points(X, list(words), names=["cat", "bee", "ant"])
    assert named.class_names == ("cat", "bee", "ant") and np.array_equal(np.array(named.class_names)[named.labels], words)


def test_integer_labels_with_names_and_whole_floats():
    X, y = blobs(3)
    scene = Scene.from_points(X, y + 5, names=["five", "six", "seven"])
    assert scene.class_names == ("five", "six", "seven") and np.array_equal(scene.labels, y)
    assert np.array_equal(Scene.from_points(X, y.astype(float)).labels, y)  # 1.0 is class 1
    assert np.array_equal(Scene.from_points(X, y[:, None]).labels, y)      # a column of labels
    assert Scene.from_points(X, y + 5).class_names == ("class 5", "class 6", "class 7")


def test_key_is_a_hash_of_the_data():
    X, y = blobs(2)
    key = Scene.from_points(X, y).key
    assert key == Scene.from_points(X.copy(), y.copy()).key and len(key["data"]) == 64
    moved = X.copy()
    moved[0, 0] += 1e-9
    assert Scene.from_points(moved, y).key != key
    assert Scene.from_points(X, y, names=["a", "b", "c"]).key != key
    assert Scene.from_points(X, y, name="other").key["name"] == "other"


def test_meshes_and_curves_beside_the_points():
    X, y = blobs(3, classes=2)
    vertices = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0.0]]) * 20
    curve = np.linspace([-30, 0, 0], [30, 0, 0], 50)
    scene = Scene.from_points(X, y, meshes=[(vertices, [[0, 1, 2]]), Surface(1, vertices + 1, np.array([[0, 1, 2]]))],
                              curves=[curve, Curve(0, curve, closed=True)])
    assert [s.label for s in scene.surfaces] == [-1, 1] and [c.label for c in scene.curves] == [-1, 0]
    assert scene.grid.lines[..., 0].min() < -30  # the grid is built around the curves too
    kinds = [kind for kind, _ in scene.parts()]
    assert kinds == ["surface", "surface", "curve", "curve", "cloud", "cloud", "grid"]
    assert Scene.from_points(X, y, grid=False).grid is None


@pytest.mark.parametrize(("X", "y", "kw", "message"), [
    (np.zeros(5), [0, 1, 0, 1, 0], {}, r"^X: shape \(5,\); allowed: \(N, n\), one row a point; for 1-D data give X\[:, None\]$"),
    (np.zeros((2, 2, 2)), [0, 1], {}, r"^X: shape \(2, 2, 2\); allowed: \(N, n\)"),
    (np.zeros((0, 2)), [], {}, r"^X: shape \(0, 2\) holds no points; allowed: 1 to 100,000 rows$"),
    (np.zeros((4, 1025)), [0, 1, 0, 1], {}, r"^X: 1025 coordinates a point; allowed: 1 to 1,024$"),
    ([["a", "b"], ["c", "d"]], [0, 1], {}, r"^X: cannot be read as numbers"),
    (np.array([[0, 1], [2, np.inf], [np.nan, 0]]), [0, 1, 0], {},
     r"^X: row 1, column 1 is inf; allowed: finite numbers \(counting from 0; 2 of 3 rows hold NaN or Inf\)$"),
    (np.zeros((4, 2)), [0, 1, 1], {}, r"^y: 3 labels for 4 points in X; allowed: one label a point$"),
    (np.zeros((4, 2)), np.zeros((2, 2)), {}, r"^y: shape \(2, 2\); allowed: \(N,\), one label a point$"),
    (np.zeros((4, 2)), [3, 3, 3, 3], {}, r"^y: every label is 3; allowed: 2 to 10 classes$"),
    (np.zeros((11, 2)), list(range(11)), {}, r"^y: 11 classes \(0, 1, .*10\); allowed: 2 to 10"),
    (np.zeros((4, 2)), [0, 0.5, 1, 1], {}, r"^y: row 1 is 0\.5, not a class; allowed: integers or strings \(floats only "
     r"when all are whole numbers, such as 1\.0\)$"),
    (np.zeros((3, 2)), [0, np.nan, 1], {}, r"^y: row 1 is nan, not a class"),
    (np.zeros((3, 2)), np.array(["b", "a", 1.5], dtype=object), {}, r"^y: row 2 is float 1\.5 among strings; allowed: "
     r"integers or strings$"),
    (np.zeros((3, 2)), np.array([0, None, 1], dtype=object), {}, r"^y: row 1 is NoneType None; allowed: integers or strings$"),
    (np.zeros((3, 2)), [1j, 2j, 1j], {}, r"^y: complex128 labels; allowed: integers or strings$"),
    (np.zeros((4, 2)), [0, 1, 0, 1], {"names": ["a"]}, r"^names: 1 names for 2 classes \(0, 1\); allowed: one name a class"),
    (np.zeros((4, 2)), [0, 1, 0, 1], {"names": ["a", "a"]}, r"^names: 'a' is given twice; allowed: one name a class$"),
    (np.zeros((4, 2)), [0, 1, 0, 1], {"names": "ab"}, r"^names: 'ab'; allowed: a list of non-empty strings"),
    (np.zeros((4, 2)), ["x", "y", "x", "y"], {"names": ["x", "z"]}, r"^names: \['x', 'z'\]: label 'y' is not among them"),
    (np.zeros((4, 2)), ["x", "y", "x", "y"], {"names": ["x", "y", "z"]}, r"^names: .*'z' labels no point"),
    (np.zeros((4, 2)), [0, 1, 0, 1], {"name": "../up"}, r"^name: '\.\./up' names the scene's folder under outputs/"),
    (np.zeros((4, 2)), [0, 1, 0, 1], {"meshes": [np.zeros((3, 2))]}, r"^meshes\[0\]: a ndarray; allowed: a Surface or a"),
    (np.zeros((4, 2)), [0, 1, 0, 1], {"meshes": [(np.zeros((3, 3)), [[0, 1, 2]])]},
     r"^meshes\[0\] vertices: shape \(3, 3\); allowed: \(P, 2\), in the data's 2 coordinates$"),
    (np.zeros((4, 2)), [0, 1, 0, 1], {"meshes": [(np.zeros((3, 2)), [[0, 1, 3]])]},
     r"^meshes\[0\]: a face refers to vertex 3; allowed: 0 to 2$"),
    (np.zeros((4, 2)), [0, 1, 0, 1], {"curves": [Curve(2, np.zeros((4, 2)))]},
     r"^curves\[0\]: label 2; allowed: a class 0 to 1, or -1 for a guide$"),
    (np.zeros((4, 2)), [0, 1, 0, 1], {"curves": [np.array([[0, 0], [np.nan, 1]])]},
     r"^curves\[0\]: row 1 holds NaN or Inf; allowed: finite numbers$"),
])
def test_every_refusal_is_one_line_naming_the_field(X, y, kw, message):
    with pytest.raises(LayerlapseError, match=message) as info:
        Scene.from_points(X, y, **kw)
    assert "\n" not in str(info.value)


def test_too_many_points_are_refused_with_the_reason(monkeypatch):
    from layerlapse.scenes import points

    monkeypatch.setattr(points, "MAX_POINTS", 10)
    with pytest.raises(LayerlapseError, match=r"^X: 12 points; allowed: at most 10 \(every point is carried through"):
        Scene.from_points(np.zeros((12, 2)), [0, 1] * 6)
    assert MAX_POINTS == 100_000


def test_the_subset_hint_keeps_points_and_labels_together():
    # the hint is code a user pastes: X[rng.choice(len(X), 100_000)] drew points twice and
    # left the labels behind (then refused as "y: 100,001 labels for 100,000 points")
    from layerlapse.limits import REASONS

    assert "keep = rng.choice(len(X), 100_000, replace=False); X[keep], y[keep]" in REASONS["points"]
