"""The fast CSV path gives what the careful reader gives, and steps aside for anything else."""

import gzip

import numpy as np
import pandas as pd
import pytest

from noloop._fast_csv import read_numeric_csv
from noloop.tables import read_table, split_features


@pytest.fixture(scope="module")
def frame():
    rng = np.random.default_rng(3)
    n = 400
    data = pd.DataFrame(rng.normal(size=(n, 3)), columns=["x", "y z", "w"])
    data["count"] = rng.integers(-5, 5, n)  # an integer column becomes float64 too
    data["label"] = rng.choice(["no", "yes", "maybe"], n)
    return data


def _careful(path, target):
    return split_features(read_table(path), target, str(path))


@pytest.mark.parametrize("variant", ["plain", "gzip", "bom-and-blank-lines", "integer-labels"])
def test_fast_path_equals_the_careful_reader(tmp_path, frame, variant):
    text = frame.to_csv(index=False)
    target = "label"
    if variant == "integer-labels":
        text = frame.assign(label=frame["label"].map({"no": 0, "yes": 1, "maybe": 7}))\
            .to_csv(index=False)
    if variant == "bom-and-blank-lines":
        lines = text.splitlines(keepends=True)
        text = "\ufeff" + "".join(lines[:5]) + "\n" + "".join(lines[5:])
    path = tmp_path / "data.csv"
    payload = text.encode("utf-8")
    path.write_bytes(gzip.compress(payload) if variant == "gzip" else payload)
    fast = read_numeric_csv(path, target=target)
    assert fast is not None
    X, y, features = _careful(path, target)
    assert fast.features == features
    assert fast.X.flags.c_contiguous and fast.X.dtype == np.float64
    np.testing.assert_array_equal(fast.X, X)
    np.testing.assert_array_equal(fast.y, y)
    assert fast.y.dtype.kind == y.dtype.kind
    np.testing.assert_array_equal(fast.classes, np.unique(y))


@pytest.mark.parametrize("cell", ["", "NA", "inf", "nan", "1.5.2", "1,5"])
def test_fast_path_steps_aside_for_what_the_careful_reader_must_name(tmp_path, frame, cell):
    data = frame.astype({"x": object})
    data.loc[len(data) - 3, "x"] = cell  # late in the file: after the first block's types
    path = tmp_path / "data.csv"
    data.to_csv(path, index=False)
    assert read_numeric_csv(path, target="label") is None


def test_fast_path_steps_aside_for_an_empty_label_and_a_duplicate_header(tmp_path, frame):
    data = frame.astype({"label": object})
    data.loc[10, "label"] = None
    data.to_csv(tmp_path / "empty_label.csv", index=False)
    assert read_numeric_csv(tmp_path / "empty_label.csv", target="label") is None
    (tmp_path / "twice.csv").write_text("a,a,label\n1,2,x\n3,4,y\n")
    assert read_numeric_csv(tmp_path / "twice.csv", target="label") is None


def test_the_read_keeps_no_arrow_memory_once_X_is_built(tmp_path, frame):
    """Issue 16: the parsed blocks are released as X fills (X and the codes are NumPy's own),
    so train's peak is X and its scaled copy, not the table as well."""
    import noloop._fast_csv as fast_csv

    path = tmp_path / "data.csv"
    pd.concat([frame] * 20).to_csv(path, index=False)  # 8,000 rows: many blocks of 16 KiB
    pool = fast_csv._memory_pool()
    before = pool.bytes_allocated()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(fast_csv, "_BLOCK_BYTES", 1 << 14)
        table = read_numeric_csv(path, target="label")
    assert table is not None and table.X.shape == (8000, 4)
    assert table.X.base is None or isinstance(table.X.base, np.ndarray)
    assert pool.bytes_allocated() == before  # nothing parsed is still referenced
    np.testing.assert_array_equal(table.X[:400], frame[["x", "y z", "w", "count"]].to_numpy())
