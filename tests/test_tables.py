"""Reading users' tables: errors that name the file, the line and the column."""

import re

import numpy as np
import pandas as pd
import pytest
from conftest import heavy_imports

from noloop.tables import (TABLE_FORMATS, DataError, in_test_split, read_table, select_features,
                           split_features, table_format, write_table)

# the same table as each file a user might bring; the training command reads them this way
BAD_TRAINING_FILES = {
    "missing file": (None, r"no such file"),
    "empty file": (b"", r"the file is empty"),
    "blank lines only": (b"\n \n", r"the file is empty"),
    "header without rows": (b"f0,f1,label\n", r"has a header \(3 columns\) but no rows"),
    "missing target": (b"f0,f1,y\n1,2,0\n3,4,1\n", r"no column named 'label'"),
    "only the target": (b"label\n0\n1\n", r"only the target column 'label'"),
    "empty label": (b"f0,f1,label\n1,2,0\n3,4,\n", r"column 'label', line 3: the label is empty"),
    "text in a numeric column": (b"f0,f1,label\n1,2,0\n3,abc,1\n", r"column 'f1', line 3: 'abc' is not a number"),
    "NaN cell": (b"f0,f1,label\n1,2,0\n3,,1\n", r"column 'f1', line 3: an empty or NaN cell"),
    "inf cell": (b"f0,f1,label\n1,inf,0\n3,4,1\n", r"column 'f1', line 2: an infinite value"),
    "single class": (b"f0,f1,label\n1,2,1\n3,4,1\n", r"column 'label' holds a single class"),
    "ragged rows": (b"f0,f1,label\n1,2,0\n3,4,1,9\n", r"line 3 has 4 fields, but the header has 3"),
    "binary file": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" * 10, r"looks like a binary file"),
    "not UTF-8": ("f0,f1,label\n1,2,0\nč,4,1\n".encode("cp1250"), r"is not UTF-8 text \(byte 0xe8"),
}


def read_training_file(path):
    fmt = table_format(path)
    return split_features(read_table(path, fmt), "label", str(path), fmt)


@pytest.mark.parametrize("case", BAD_TRAINING_FILES)
def test_a_bad_training_file_is_named_with_its_line_and_column(tmp_path, case):
    content, message = BAD_TRAINING_FILES[case]
    path = tmp_path / "bad.csv"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(DataError, match=message) as caught:
        read_training_file(path)
    assert str(caught.value).startswith(f"{path}: ")
    assert isinstance(caught.value, ValueError)


def test_a_good_csv_gives_features_labels_and_names(tmp_path):
    path = tmp_path / "good.csv"
    path.write_bytes(b"\xef\xbb\xbff0,f1,label\n1,2.5,cat\n\n3,4,dog\n")  # a BOM and a blank line
    X, y, features = read_training_file(path)
    np.testing.assert_array_equal(X, [[1.0, 2.5], [3.0, 4.0]])
    assert X.dtype == np.float64
    assert list(y) == ["cat", "dog"] and features == ["f0", "f1"]


def test_npy_and_npz_files_name_their_columns_by_position(tmp_path):
    np.save(tmp_path / "x.npy", np.arange(6.0).reshape(3, 2))
    assert list(read_table(tmp_path / "x.npy").columns) == ["0", "1"]
    np.savez(tmp_path / "d.npz", X=np.arange(6.0).reshape(3, 2), y=np.array([0, 1, 0]))
    frame = read_table(tmp_path / "d.npz")
    assert list(frame.columns) == ["0", "1", "y"] and list(frame["y"]) == [0, 1, 0]
    np.save(tmp_path / "flat.npy", np.arange(3.0))
    with pytest.raises(DataError, match=r"flat.npy: expected a 2-D array .* got shape \(3,\)"):
        read_table(tmp_path / "flat.npy")
    np.savez(tmp_path / "wrong.npz", A=np.zeros((2, 2)))
    with pytest.raises(DataError, match="wrong.npz: expected arrays 'X' and optionally 'y'; found A"):
        read_table(tmp_path / "wrong.npz")
    np.savez(tmp_path / "short.npz", X=np.zeros((3, 2)), y=np.zeros(2))
    with pytest.raises(DataError, match=r"array 'y' must have shape \(3,\) to match 'X'"):
        read_table(tmp_path / "short.npz")
    (tmp_path / "pickled.npy").write_bytes(b"not numpy")
    with pytest.raises(DataError, match="is not a readable NumPy file"):
        read_table(tmp_path / "pickled.npy")


def test_non_csv_errors_name_the_row_and_parquet_errors_the_file(tmp_path):
    frame = pd.DataFrame({"a": [1.0, np.nan], "label": [0, 1]})
    with pytest.raises(DataError, match=r"d.parquet: column 'a', row 2: an empty or NaN cell"):
        split_features(frame, "label", str(tmp_path / "d.parquet"), "parquet")
    (tmp_path / "broken.parquet").write_bytes(b"PAR1 but not really")
    with pytest.raises(DataError, match="broken.parquet: is not a readable Parquet file"):
        read_table(tmp_path / "broken.parquet")


def test_the_format_comes_from_the_extension_or_is_asked_for(tmp_path):
    assert table_format("a.CSV") == "csv" and table_format("a.pq") == "parquet"
    assert table_format("data", "npz") == "npz"
    assert TABLE_FORMATS == ("csv", "parquet", "npy", "npz")
    with pytest.raises(DataError, match=r"data.xlsx: cannot tell the format from the extension "
                                        r"'.xlsx'.*or name it with --format"):
        table_format("data.xlsx")
    with pytest.raises(DataError, match="--format must be one of csv, parquet, npy, npz"):
        table_format("a.csv", "xlsx")
    (tmp_path / "folder.csv").mkdir()
    with pytest.raises(DataError, match="is a directory, expected a csv file"):
        read_table(tmp_path / "folder.csv")


def test_select_features_matches_by_name_and_names_what_is_missing():
    frame = pd.DataFrame({"b": [1, 2], "a": [True, False], "extra": ["x", "y"]})
    np.testing.assert_array_equal(select_features(frame, ["a", "b"], "t.csv"), [[1, 1], [0, 2]])
    with pytest.raises(DataError, match=re.escape(
            "t.csv: missing column(s) 'c'; the model needs 'a', 'c'")):
        select_features(frame, ["a", "c"], "t.csv")


@pytest.mark.parametrize("suffix", ["csv", "parquet"])
def test_write_table_writes_csv_or_parquet_and_refuses_other_formats(tmp_path, suffix):
    frame = pd.DataFrame({"prediction": ["a", "b"], "proba_a": [0.25, 0.5]})
    path = tmp_path / f"out.{suffix}"
    write_table(frame, path)
    back = pd.read_csv(path) if suffix == "csv" else pd.read_parquet(path)
    pd.testing.assert_frame_equal(back, frame)
    with pytest.raises(DataError, match="predictions are written as CSV or Parquet; got format 'npy'"):
        write_table(frame, tmp_path / "out.npy")
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"out.{suffix}"]


def test_write_table_to_stdout(capsys):
    write_table(pd.DataFrame({"prediction": [1, 0]}), "-")
    assert capsys.readouterr().out.splitlines() == ["prediction", "1", "0"]


def test_the_test_split_depends_on_a_rows_content_and_the_seed_only():
    rows = pd.DataFrame({"a": np.arange(2000.0), "b": np.arange(2000.0) % 7})
    held_out = in_test_split(rows, 0.25, 0, ["a", "b"])
    assert held_out.dtype == bool and 0.2 < held_out.mean() < 0.3
    shuffled = rows.sample(frac=1.0, random_state=1)
    # the same rows in another order and partitioning: the same fate for each
    assert (in_test_split(shuffled, 0.25, 0, ["a", "b"]).sort_index() == held_out).all()
    assert (in_test_split(rows, 0.25, 1, ["a", "b"]) != held_out).any()


def test_importing_tables_loads_no_pandas():
    assert heavy_imports("import noloop.tables") == []
