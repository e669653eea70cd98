"""Reading users' tables: errors that name the file, the line and the column."""

import re

import numpy as np
import pandas as pd
import pytest
from conftest import heavy_imports

from noloop.tables import (TABLE_FORMATS, DataError, dask_features, evaluation_labels,
                           in_test_split, read_dask_table, read_table, select_features,
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
    "single class": (b"f0,f1,label\n1,2,1\n3,4,1\n", r"column 'label' holds a single class \(1\)"),
    "continuous labels": (b"f0,f1,label\n1,2,1\n\n3,4,0.5\n", r"column 'label', line 4: the label "
                                                           r"0.5 is not a whole number"),
    "labels beyond int64": (b"f0,f1,label\n1,2,0\n3,4,1e20\n", r"column 'label', line 3: the label "
                                                             r"1e\+20 is beyond the whole numbers"),
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


# ------------------------------------------------------------------ issue 15


def write(tmp_path, content, name="t.csv"):
    path = tmp_path / name
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


@pytest.mark.parametrize(("classes", "labels", "message"), [
    ([False, True], "True\n2\n", r"line 3: the label '2' is not one of the model's classes False, True"),
    ([False, True], "0\n1\n", r"line 2: the label 0 is not one of the model's classes"),
    ([0, 1], "0\n0.5\n1.7\n", r"line 3: the label 0.5 is not one of the model's classes 0, 1 "
                              r"\(2 such row\(s\); labels 0.5, 1.7\)"),
    ([0, 1], "0\nx\n", r"line 3: the label 'x' is not one of the model's classes 0, 1"),
])
def test_evaluation_labels_are_compared_as_read_not_converted(tmp_path, classes, labels, message):
    # issue 15 item 2: a bool model took 2 (and an empty cell) as True; an int model truncated 0.5
    rows = labels.splitlines()
    path = write(tmp_path, "a,y\n" + "".join(f"{i},{label}\n" for i, label in enumerate(rows)))
    with pytest.raises(DataError, match=f"^{re.escape(str(path))}: column 'y', " + message):
        evaluation_labels(read_table(path), "y", np.array(classes), str(path))


@pytest.mark.parametrize(("classes", "expected"), [
    (np.array(["0", "1", "other"]), ["0", "1", "1", "0"]),  # item 10: text classes, numbers in the file
    (np.array([0, 1]), [0, 1, 1, 0]),
    (np.array([0.0, 1.0]), [0.0, 1.0, 1.0, 0.0]),
])
def test_evaluation_labels_match_the_models_classes_by_value(tmp_path, classes, expected):
    path = write(tmp_path, "a,y\n1,0\n2,1\n3,1.0\n4, 0\n")
    y = evaluation_labels(read_table(path), "y", classes, str(path))
    assert y.tolist() == expected and y.dtype == classes.dtype
    path = write(tmp_path, "a,y\n1,true\n2,FALSE\n", "bools.csv")
    assert evaluation_labels(read_table(path), "y", np.array([False, True]),
                             str(path)).tolist() == [True, False]


@pytest.mark.parametrize("classes", [np.array([0, 1]), np.array(["cat", "dog"])])
def test_an_empty_label_at_evaluation_names_the_file_and_line(tmp_path, classes):
    # issue 15 item 14: int models said "labels -9223372036854775808", string models "'nan'"
    path = write(tmp_path, "a,y\n1,{0}\n2,\n3,{1}\n".format(*classes.tolist()))
    with pytest.raises(DataError, match=rf"t.csv: column 'y', line 3: the label is empty; expected "
                                        rf"one of the model's classes {classes.tolist()[0]!r}"):
        evaluation_labels(read_table(path), "y", classes, str(path))


def test_literal_na_words_are_labels_and_only_empty_cells_are_missing(tmp_path):
    # issue 15 item 17
    path = write(tmp_path, "a,y\n1,NA\n2,None\n3,null\n4,n/a\n5,NA\n")
    X, y, _ = split_features(read_table(path), "y", str(path))
    assert y.tolist() == ["NA", "None", "null", "n/a", "NA"]
    with pytest.raises(DataError, match=r"column 'a', line 2: 'NA' is not a number"):
        split_features(read_table(write(tmp_path, "a,y\nNA,0\n2,1\n")), "y", "t.csv")


def test_duplicate_column_names_are_refused(tmp_path):
    # issue 15 item 5: pandas renamed the second y to y.1, which leaked the label as a feature
    path = write(tmp_path, "a,b,c,y,y\n1,2,3,0,0\n4,5,6,1,1\n")
    with pytest.raises(DataError, match=r"t.csv: the column name 'y' appears twice in the header "
                                        r"\(columns 4 and 5\)"):
        read_table(path)


def test_errors_name_the_physical_line_after_blank_lines_and_quoted_newlines(tmp_path):
    # issue 15 item 16
    blank = write(tmp_path, "a,y\n1,0\n\n\n2,1\n\n3,1\nx,0\n")
    with pytest.raises(DataError, match=r"column 'a', line 8: 'x' is not a number"):
        split_features(read_table(blank), "y", str(blank))
    quoted = write(tmp_path, 'a,y\n1,"multi\nline\nlabel"\n2,1\nx,0\n', "q.csv")
    with pytest.raises(DataError, match=r"column 'a', line 6: 'x' is not a number"):
        split_features(read_table(quoted), "y", str(quoted))
    ragged = write(tmp_path, "a,y\n\n1,0\n\n1,2,3\n", "r.csv")
    with pytest.raises(DataError, match=r"r.csv: line 5 has 3 fields"):
        read_table(ragged)


def test_a_huge_field_is_an_error_that_names_the_line_and_the_stray_quote(tmp_path):
    # issue 15 item 11: a stray quote swallowed the file -> _csv.Error traceback
    body = "".join(f"{i},{i % 2}\n" for i in range(20_000))
    path = write(tmp_path, f'a,y\n1,0\n2,"1\n{body}')
    with pytest.raises(DataError, match=r"t.csv: line 3: cannot be read as CSV \(field larger than "
                                        r"field limit .*a stray '\"'"):
        read_table(path)
    short = write(tmp_path, 'a,b,y\n1,2,0\n2,"1,0\n3,1,1\n4,0,1\n', "s.csv")
    with pytest.raises(DataError, match=r"s.csv: line 3 has 2 fields, .*spans lines 3-5 inside "
                                        r"quotes: a stray '\"'"):
        read_table(short)


def test_a_semicolon_file_gets_a_delimiter_hint(tmp_path):
    path = write(tmp_path, "a;b;y\n1;2;0\n3;4;1\n")
    with pytest.raises(DataError, match=r"t.csv: line 1 holds a single column 'a;b;y'; noloop "
                                        r"reads comma-separated CSV and this file looks "
                                        r"semicolon-separated"):
        read_table(path)


@pytest.mark.parametrize("header", [",a,y", "Unnamed: 0,a,y"])
def test_a_pandas_index_column_is_refused_with_the_fix(tmp_path, header):
    path = write(tmp_path, f"{header}\n0,1.5,0\n1,2.5,1\n")
    with pytest.raises(DataError, match=r"t.csv: column 1 has no name in the header .*"
                                        r"to_csv\(index=False\)"):
        read_table(path)


def test_a_parquet_timestamp_column_is_refused(tmp_path):
    path = tmp_path / "t.parquet"
    pd.DataFrame({"when": pd.to_datetime(["2024-01-01", "2024-01-02"]), "a": [1.0, 2.0],
                  "y": [0, 1]}).to_parquet(path)
    with pytest.raises(DataError, match=r"t.parquet: column 'when' holds dates or times"):
        split_features(read_table(path), "y", str(path), "parquet")


def test_gzip_csv_is_read(tmp_path):
    import gzip

    path = write(tmp_path, gzip.compress(b"a,y\n1,0\n2,1\n"), "t.csv.gz")
    assert table_format(path) == "csv"
    assert read_table(path).to_dict("list") == {"a": [1, 2], "y": [0, 1]}
    assert read_table(write(tmp_path, gzip.compress(b"a,y\n1,0\n"), "noext"), "csv").shape == (1, 2)


def test_a_header_only_csv_is_an_empty_table_only_when_asked(tmp_path):
    path = write(tmp_path, "a,b,y\n")
    with pytest.raises(DataError, match=r"has a header \(3 columns\) but no rows"):
        read_table(path)
    frame = read_table(path, allow_empty=True)
    assert list(frame.columns) == ["a", "b", "y"] and len(frame) == 0
    assert select_features(frame, ["a", "b"], str(path)).shape == (0, 2)


def test_csv_columns_get_pandas_types(tmp_path):
    path = write(tmp_path, "i,f,b,t,e\n1,1.5,True,x,\n-2,1e308,false,3,\n")
    frame = read_table(path)
    assert [str(dtype) for dtype in frame.dtypes] == ["int64", "float64", "bool", "str",
                                                      "float64"]
    assert frame["t"].tolist() == ["x", "3"]


# ------------------------------------------------------------------ issue 15, Dask


@pytest.fixture
def dask_file(tmp_path):
    def make(content):
        return read_dask_table(write(tmp_path, content, "d.csv")), str(tmp_path / "d.csv")
    return make


@pytest.mark.parametrize(("content", "message"), [
    ("a,y\n1,0\n2,\n3,1\n", r"d.csv: column 'y': 1 empty label\(s\)"),
    ("a,y\n1,cat\n2,\n3,dog\n", r"d.csv: column 'y': 1 empty label\(s\)"),
    ("a,y\nx,0\n2,1\n", r"d.csv: column\(s\) 'a' hold text; expected numbers"),
    ("a,y\n", r"d.csv: has a header \(2 columns\) but no rows of data"),
    ("a,a,y\n1,2,0\n", r"the column name 'a' appears twice"),
])
def test_dask_tables_are_checked_as_in_memory_ones(dask_file, content, message):
    # issue 15 item 3: empty labels became classes nan / '<NA>'; text columns a dtype error
    with pytest.raises(DataError, match=message):
        frame, path = dask_file(content)
        dask_features(frame, ["a"], path, target="y")


def test_dask_reads_na_words_as_labels(dask_file):
    frame, path = dask_file("a,y\n1,NA\n2,None\n")
    dask_features(frame, ["a"], path, target="y")
    assert frame["y"].compute().tolist() == ["NA", "None"]


def test_dask_refuses_a_timestamp_column_by_name(tmp_path):
    path = tmp_path / "t.parquet"
    pd.DataFrame({"when": pd.to_datetime(["2024-01-01", "2024-01-02"]), "a": [1.0, 2.0],
                  "y": [0, 1]}).to_parquet(path)
    with pytest.raises(DataError, match=r"t.parquet: column\(s\) 'when' hold dates or times"):
        dask_features(read_dask_table(path), ["when", "a"], str(path), target="y")
