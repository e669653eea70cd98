"""Model files: round trips, refusals that name the file and the field, atomic writes."""

import json
import os
import stat
import struct
import time

import numpy as np
import pandas as pd
import pytest
from conftest import heavy_imports
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from safetensors.numpy import load, save
from sklearn.datasets import load_iris, make_classification

from noloop.errors import DataError
from noloop.linear_model import LogisticRegression
from noloop.persistence import (MODEL_FORMAT, STALE_TEMPORARY_AGE_S, atomic_write_bytes,
                                load_model, read_model_metrics, save_model)


@pytest.fixture(scope="module")
def iris():
    data = load_iris(as_frame=True)
    X = data.data.rename(columns=lambda c: c.replace(" (cm)", "").replace(" ", "_"))
    return X, data.target_names[data.target]


@pytest.fixture(scope="module")
def binary():
    return make_classification(n_samples=200, n_features=4, random_state=0)


def _assert_same_fit(loaded, model):
    assert loaded.get_params() == model.get_params()
    for name in ("classes_", "coef_", "intercept_", "n_iter_"):
        np.testing.assert_array_equal(getattr(loaded, name), getattr(model, name))
    assert loaded.coef_.dtype == model.coef_.dtype
    assert loaded.n_features_in_ == model.n_features_in_
    assert loaded.loss_history_ == model.loss_history_
    assert (loaded.converged_, loaded.stop_reason_) == (model.converged_, model.stop_reason_)


def test_round_trip_keeps_everything_and_reads_the_metrics_apart(tmp_path, iris):
    X, y = iris
    model = LogisticRegression(C=0.5, tol=1e-6, max_iter=500).fit(X, y)
    path = tmp_path / "m.safetensors"
    save_model(model, path, metrics={"note": "ok", "train": {"accuracy": 0.9}})
    loaded = load_model(path)
    _assert_same_fit(loaded, model)
    assert list(loaded.feature_names_in_) == list(X.columns)
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    # metrics live in the file, not on the model: a loaded model has the attributes of a fitted one
    assert sorted(vars(loaded)) == sorted(vars(model))
    assert read_model_metrics(path) == {"note": "ok", "train": {"accuracy": 0.9}}
    again, metrics = load_model(path, with_metrics=True)
    _assert_same_fit(again, model)
    assert metrics == {"note": "ok", "train": {"accuracy": 0.9}}


def test_a_model_without_feature_names_or_metrics_and_in_float32(tmp_path, binary):
    X, y = binary
    model = LogisticRegression(solver="newton-cholesky").fit(X.astype(np.float32), y)
    path = tmp_path / "m.safetensors"
    save_model(model, path)
    loaded = load_model(path)
    _assert_same_fit(loaded, model)
    assert not hasattr(loaded, "feature_names_in_")
    assert loaded.coef_.dtype == np.float32
    assert read_model_metrics(path) == {}


@pytest.mark.parametrize("labels", [np.array([0, 1]), np.array([3, 7]), np.array([0.0, 1.0]),
                                    np.array(["no", "yes"])])
def test_class_weight_keys_come_back_as_the_classes_and_the_model_refits(tmp_path, binary, labels):
    X, indices = binary
    y = labels[indices]
    weights = {labels[0].item(): 1.0, labels[1].item(): 3.0}
    model = LogisticRegression(class_weight=weights).fit(X, y)
    path = tmp_path / "m.safetensors"
    save_model(model, path)
    loaded = load_model(path)
    assert loaded.class_weight == weights
    assert [type(key) for key in loaded.class_weight] == [type(key) for key in weights]
    refitted = loaded.fit(X, y)
    np.testing.assert_allclose(refitted.coef_, model.coef_, atol=1e-8)


def test_saving_something_else_is_refused(tmp_path, binary):
    from sklearn.linear_model import LogisticRegression as SklearnLogisticRegression

    X, y = binary
    path = tmp_path / "m.safetensors"
    with pytest.raises(TypeError, match="saves a noloop.LogisticRegression; got "
                                        "sklearn.linear_model._logistic.LogisticRegression"):
        save_model(SklearnLogisticRegression().fit(X, y), path)
    with pytest.raises(ValueError, match="needs a fitted model"):
        save_model(LogisticRegression(), path)
    assert not path.exists()


# ---------------------------------------------------------------- files that are not models


@pytest.fixture(scope="module")
def good_file(tmp_path_factory, binary):
    X, y = binary
    path = tmp_path_factory.mktemp("good") / "good.safetensors"
    save_model(LogisticRegression().fit(X, y), path)
    return path


def _split(raw):
    """A safetensors file's header (as JSON) and the bytes after it."""
    (length,) = struct.unpack("<Q", raw[:8])
    return json.loads(raw[8:8 + length]), raw[8 + length:]


def _join(header, buffer):
    text = json.dumps(header).encode()
    return struct.pack("<Q", len(text)) + text + buffer


def _rewrite(source, target, *, tensors=None, drop=(), **metadata_changes):
    """A copy of the model file ``source`` with some tensors or metadata fields replaced or dropped."""
    raw = source.read_bytes()
    metadata = _split(raw)[0]["__metadata__"]
    metadata.update(metadata_changes)
    for field in drop:
        del metadata[field]
    target.write_bytes(save({**load(raw), **(tensors or {})}, metadata=metadata))
    return target


def _edit_header(source, target, edit):
    """A copy of ``source`` whose JSON header ``edit`` changed in place; the tensor bytes stay."""
    header, buffer = _split(source.read_bytes())
    edit(header)
    target.write_bytes(_join(header, buffer))
    return target


def _changed(**changes):
    """Makes a bad file from a good one by :func:`_rewrite` with ``changes``."""
    return lambda good, bad: _rewrite(good, bad, **changes)


def _header_edited(edit):
    """Makes a bad file from a good one by :func:`_edit_header` with ``edit``."""
    return lambda good, bad: _edit_header(good, bad, edit)


def _with_class_weight(good, bad):
    params = json.loads(_split(good.read_bytes())[0]["__metadata__"]["hyperparameters"])
    return _rewrite(good, bad, hyperparameters=json.dumps({**params, "class_weight": {"0": -1}}))


def _nested_header(good, bad):
    bad.write_bytes(struct.pack("<Q", 100_000) + b"[" * 100_000)


BAD_FILES = {
    "missing": (lambda good, bad: None, "no such model file"),
    "corrupt header": (lambda good, bad: bad.write_bytes(
        b"\x10\x00\x00\x00\x00\x00\x00\x00{not json at all}" + b"\x00" * 32),
        "is not a noloop model file"),
    "a CSV": (lambda good, bad: bad.write_bytes(b"f0,f1\n1,2\n"), "is not a noloop model file"),
    "too short": (lambda good, bad: bad.write_bytes(b"\x01"), "too short"),
    "other safetensors": (lambda good, bad: bad.write_bytes(save({"w": np.zeros(2)})),
                          "without noloop's metadata"),
    "truncated": (lambda good, bad: bad.write_bytes(good.read_bytes()[:-40]), "corrupt"),
    "future format": (_changed(format_version="99", noloop_version="9.0"),
                      "written in model format 99 by noloop 9.0"),
    "missing field": (_changed(drop=["classes_dtype"]),
                      "field `classes_dtype`: expected a NumPy dtype; got no such field"),
    "NaN weights": (_changed(tensors={"coef": np.full((1, 4), np.nan)}), "`coef` must be finite"),
    "wrong coef shape": (_changed(tensors={"coef": np.zeros((2, 4))}),
                         r"`coef` must have 1 row\(s\) for 2 classes"),
    "unsorted classes": (_changed(classes="[1, 0]"), "`classes` must be unique and sorted"),
    "feature count": (_changed(n_features="5"),
                      r"coef has 4 feature column\(s\); the header says 5"),
    "bad hyperparameter": (_changed(hyperparameters='{"C": -1}'),
                           "`C` must be a positive number or np.inf"),
    "unknown hyperparameter": (_changed(hyperparameters='{"alpha": 1}'), "unknown parameter"),
    "metrics not an object": (_changed(metrics="[1]"),
                              "field `metrics`: expected a JSON object; got a JSON array"),
    # issue 15, item 6: values
    "infinite intercept": (_changed(tensors={"intercept": np.array([np.inf])}),
                           "`intercept` must be finite"),
    "int64 coef": (_changed(tensors={"coef": np.ones((1, 4), np.int64)}),
                   "field `coef`: expected a tensor of dtype F32 or F64; got dtype 'I64'"),
    "float16 coef": (_changed(tensors={"coef": np.ones((1, 4), np.float16)}),
                     "field `coef`: expected a tensor of dtype F32 or F64; got dtype 'F16'"),
    "repeated classes": (_changed(classes="[0, 0]"), "`classes` must be unique and sorted"),
    "class that overflows its dtype": (_changed(classes="[0, 10000000000.0]", classes_dtype="<f2"),
                                       "field `classes`: expected labels that float16 .* exactly"),
    "string class cut by its dtype": (_changed(classes='["no", "yes"]', classes_dtype="<U1"),
                                      "field `classes`: expected labels that <U1 .* exactly"),
    "bools as integer classes": (_changed(classes="[false, true]"),
                                 "field `classes`: expected a JSON array of 2 labels of type int64"),
    "object classes": (_changed(classes_dtype="|O"),
                       "field `classes_dtype`: expected a NumPy dtype of bools, integers"),
    "dtype field unlike coef": (_changed(dtype="float32"),
                                "field `dtype`: expected float64, the dtype of coef"),
    "feature names not a list": (_changed(feature_names="{}"),
                                 "field `feature_names`: expected a JSON array of strings"),
    "shape unlike the bytes": (_header_edited(lambda h: h["coef"].update(shape=[1, 5])),
                               r"field `coef`: expected data_offsets \[begin, begin \+ 40\]"),
    "data beyond the file": (_header_edited(lambda h: h["intercept"].update(
        data_offsets=[10**6, 10**6 + 8])), "field `intercept`: expected data_offsets"),
    "a tensor too many": (_header_edited(lambda h: h.update(extra=h["intercept"])),
                          "field `tensors`: expected coef, intercept and optionally loss_history"),
    "negative class weight": (_with_class_weight, "field `hyperparameters`: expected class_weight "
                                                  "values that are finite numbers >= 0"),
    # issue 15, item 13: malformed headers
    "a single class": (_changed(classes="[0]"), "field `classes`: expected a JSON array of 2 labels"),
    "deeply nested classes": (_changed(classes="[" * 100_000),
                              "field `classes`: expected a JSON array .*; got text that is not JSON"),
    "deeply nested header": (_nested_header, "header is not valid JSON"),
    "metadata as a list": (_header_edited(lambda h: h.update(__metadata__=[["format", "x"]])),
                           "is not a noloop model file"),
    "hyperparameters as a list": (_changed(hyperparameters="[]"),
                                  "field `hyperparameters`: expected a JSON object; got a JSON array"),
    "hyperparameter as an object": (_changed(hyperparameters='{"solver": {}}'),
                                    "corrupt noloop model file"),
    "metadata value not a string": (_header_edited(lambda h: h["__metadata__"].update(n_iter=3)),
                                    "field `n_iter`: expected a string"),
    "converged neither true nor false": (_changed(converged="yes"),
                                         "field `converged`: expected true or false; got 'yes'"),
    "metrics not JSON": (_changed(metrics="{"),
                         "field `metrics`: expected a JSON object; got text that is not JSON"),
    "n_iter negative": (_changed(n_iter="-1"),
                        "field `n_iter`: expected an integer from 0 to 2147483647; got '-1'"),
    "n_iter a float": (_changed(n_iter="1e3"), "field `n_iter`: expected an integer"),
    "format version 0": (_changed(format_version="0"),
                         "field `format_version`: expected an integer from 1 to 1; got '0'"),
    "format version -1": (_changed(format_version="-1"),
                          "field `format_version`: expected an integer from 1 to 1; got '-1'"),
    "format version 1.0": (_changed(format_version="1.0"),
                           "field `format_version`: expected an integer"),
}


@pytest.mark.parametrize("case", BAD_FILES)
def test_a_bad_model_file_is_refused_naming_the_file_and_what_is_wrong(tmp_path, good_file, case):
    make, message = BAD_FILES[case]
    bad = tmp_path / "bad.safetensors"
    make(good_file, bad)
    with pytest.raises(DataError, match=message) as caught:
        load_model(bad)
    assert str(caught.value).startswith(f"{bad}: ")


def test_a_pickle_in_place_of_a_model_runs_none_of_its_code(pickled_exploit):
    bad, marker = pickled_exploit
    for read in (load_model, read_model_metrics):
        with pytest.raises(DataError, match="is not a noloop model file"):
            read(bad)
    assert not marker.exists()


def test_a_model_file_written_by_the_safetensors_library_still_loads(tmp_path, good_file, binary):
    X, _ = binary
    older = _rewrite(good_file, tmp_path / "older.safetensors")  # safetensors' own writer
    assert older.read_bytes() != good_file.read_bytes()
    np.testing.assert_array_equal(load_model(older).predict_proba(X),
                                  load_model(good_file).predict_proba(X))


def test_the_file_format_is_safetensors_with_noloop_metadata(good_file):
    raw = good_file.read_bytes()
    (length,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + length])
    assert header["__metadata__"]["format"] == MODEL_FORMAT
    assert set(load(raw)) == {"coef", "intercept", "loss_history"}


# ---------------------------------------------------------------- atomic writes


def test_a_failed_write_leaves_the_old_file_whole(tmp_path):
    path = tmp_path / "model.safetensors"
    path.write_bytes(b"the good model")
    with pytest.raises(TypeError):
        atomic_write_bytes(path, "not bytes")  # fails inside the write, after the temp file exists
    assert path.read_bytes() == b"the good model"
    assert [p.name for p in tmp_path.iterdir()] == ["model.safetensors"]


def test_a_write_replaces_the_file_and_a_missing_directory_is_named(tmp_path):
    path = tmp_path / "out.bin"
    path.write_bytes(b"old")
    atomic_write_bytes(path, b"new")
    assert path.read_bytes() == b"new"
    with pytest.raises(DataError, match=r"nowhere/out.bin: the directory .*nowhere does not exist"):
        atomic_write_bytes(tmp_path / "nowhere" / "out.bin", b"x")


def test_importing_persistence_loads_neither_pandas_nor_scikit_learn():
    assert heavy_imports("import noloop.persistence") == []


@pytest.fixture
def umask():
    """Sets the process umask for one test, then puts the old one back."""
    old = os.umask(0o022)
    yield os.umask
    os.umask(old)


@pytest.mark.parametrize("mask", [0o022, 0o077, 0o002])
def test_a_new_file_gets_the_mode_open_would_give_it(tmp_path, umask, mask):
    umask(mask)
    path = tmp_path / "new.bin"
    atomic_write_bytes(path, b"x")
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~mask


def test_a_replaced_file_keeps_its_mode(tmp_path, umask):
    umask(0o077)
    path = tmp_path / "model.safetensors"
    path.write_bytes(b"old")
    path.chmod(0o644)
    atomic_write_bytes(path, b"new")
    assert (path.read_bytes(), stat.S_IMODE(path.stat().st_mode)) == (b"new", 0o644)


def test_a_symlinked_path_is_written_through_and_stays_a_link(tmp_path):
    real = tmp_path / "store" / "model.safetensors"
    real.parent.mkdir()
    real.write_bytes(b"old")
    link = tmp_path / "current.safetensors"
    link.symlink_to(real)
    atomic_write_bytes(link, b"new")
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert real.read_bytes() == b"new"
    assert sorted(p.name for p in real.parent.iterdir()) == ["model.safetensors"]
    loop, back = tmp_path / "loop", tmp_path / "back"
    loop.symlink_to(back)
    back.symlink_to(loop)
    with pytest.raises(OSError, match="Too many levels of symbolic links: '.*loop'"):
        atomic_write_bytes(loop, b"x")
    assert loop.is_symlink() and back.is_symlink()


def test_two_saves_of_one_model_give_the_same_bytes_that_safetensors_reads(tmp_path, iris):
    from safetensors import safe_open

    X, y = iris
    model = LogisticRegression(class_weight={"setosa": 2.0, "virginica": 1.0}).fit(X, y)
    first, second = tmp_path / "a.safetensors", tmp_path / "b.safetensors"
    save_model(model, first, metrics={"b": 1, "a": {"z": 0.5, "y": 0.25}})
    save_model(model, second, metrics={"a": {"y": 0.25, "z": 0.5}, "b": 1})
    assert first.read_bytes() == second.read_bytes()
    header, _ = _split(first.read_bytes())
    assert list(header["__metadata__"]) == sorted(header["__metadata__"])
    with safe_open(first, framework="numpy") as handle:  # the safetensors library reads it
        assert handle.metadata() == header["__metadata__"]
        np.testing.assert_array_equal(handle.get_tensor("coef"), model.coef_)


def _leftover(directory, name, *, pid=None, age_s=0.0):
    """A temporary file as a write killed before its rename leaves it (named as now, or as
    ``tempfile.mkstemp`` named it before without ``pid``)."""
    tag = f"{int(age_s):08x}"[-8:]
    middle = f"{tag[:4]}_{tag[5:]}" if pid is None else f"{pid}-{tag}"
    path = directory / f".{name}.{middle}.tmp"
    path.write_bytes(b"half a model")
    stamp = time.time() - age_s
    os.utime(path, (stamp, stamp))
    return path


def test_temporaries_left_by_killed_writes_are_removed_by_the_next_write(tmp_path):
    dead_pid = 2**22 + 12345  # above Linux's largest pid: no such process
    stale = [_leftover(tmp_path, "m.safetensors", pid=dead_pid),
             _leftover(tmp_path, "m.safetensors", age_s=STALE_TEMPORARY_AGE_S + 60),
             _leftover(tmp_path, "m.safetensors", pid=os.getpid(), age_s=STALE_TEMPORARY_AGE_S + 60)]
    kept = [_leftover(tmp_path, "m.safetensors", pid=os.getpid()),  # a write in progress
            _leftover(tmp_path, "m.safetensors"),  # too young to tell
            _leftover(tmp_path, "other.safetensors", pid=dead_pid)]  # another target's
    atomic_write_bytes(tmp_path / "m.safetensors", b"new")
    assert not any(path.exists() for path in stale)
    assert all(path.exists() for path in kept)
    assert (tmp_path / "m.safetensors").read_bytes() == b"new"


def test_write_errors_name_the_users_path_not_the_temporary(tmp_path, monkeypatch):
    directory = tmp_path / "model.safetensors"
    directory.mkdir()
    with pytest.raises(IsADirectoryError) as caught:
        atomic_write_bytes(directory, b"x")
    assert caught.value.filename == str(directory) and ".tmp" not in str(caught.value)

    def refuse(source, target):
        raise PermissionError(13, "Permission denied", source, target)

    path = tmp_path / "m.safetensors"
    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(PermissionError, match=r"Permission denied: '.*m\.safetensors'$") as caught:
        atomic_write_bytes(path, b"x")
    assert ".tmp" not in str(caught.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.safetensors"]


# ---------------------------------------------------------------- fuzzing the model file

_NESTED = ["[" * 3000, "{" * 3000, '{"a": ' * 3000, "[[[[[[1]]]]]]"]
_NUMBERS = ["", "0", "-1", "1", "2", "1.0", " 1", "1e3", "99999999999999999999999", "NaN", "1e999"]
# Values worth trying in each metadata field, beside random text and JSON of any shape.
_FIELD_VALUES = {
    "classes": ["[0]", "[0, 0]", "[1, 0]", "[0, 1, 2]", "[false, true]", "[0.5, 1.5]", '["0", "1"]',
                "[0, 1e999]", "[NaN, 1]", "[0, 10000000000.0]", "[-1, 300]", "[0, 1.0]", "{}", "0",
                '["setosa", "versicolor", "virginica"]', '["a", "a", "b"]', '["a", 1, 2]', "[]"],
    "classes_dtype": ["<f2", "<f4", "<f8", "<i1", "<i8", ">i8", "<u1", "|b1", "<U1", "<U10", "<U3",
                      "|S3", "|O", "<M8[ns]", "V8", "<c16", "float16", "int64", "<i16"],
    "hyperparameters": ["[]", "{}", '{"C": -1}', '{"C": [1]}', '{"C": "inf"}', '{"solver": {}}',
                        '{"penalty": []}', '{"class_weight": {"0": "x"}}',
                        '{"class_weight": {"9": 1}}', '{"class_weight": {"setosa": -2}}',
                        '{"class_weight": "balanced"}', '{"class_weight": []}',
                        '{"max_iter": 1e400}', '{"max_iter": -1}', '{"verbose": true}',
                        '{"alpha": 1}', '{"tol": null}', '{"fit_intercept": 0}'],
    "feature_names": ["[]", "{}", '""', "0", '["a"]', '["a", "a", "b", "c"]', '["a", 1, "b", "c"]',
                      '["a", "b", "c", "d", "e"]', '[["a"], "b", "c", "d"]'],
    "n_features": _NUMBERS + ["3", "4", "5", "2147483648"],
    "metrics": ["[]", "[1]", "{}", "{", '{"train": NaN}', '{"test": {"accuracy": "x"}}', "null"],
    "n_iter": _NUMBERS + ["2147483648", "true"],
    "converged": ["true", "false", "True", "1", "0", "null", "yes", ""],
    "dtype": ["float32", "float64", "float16", "int64", "object", ""],
    "stop_reason": ["", "x" * 1000, "\n"],
    "format_version": _NUMBERS + ["01", "+1", "1 ", "١"],
    "noloop_version": ["", "9.0", "x"],
    "format": ["", "noloop", "noloop-logistic-regression ", "NOLOOP-LOGISTIC-REGRESSION"],
}
_JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3)
    | st.dictionaries(st.text(max_size=3), inner, max_size=3),
    max_leaves=6)
_TENSOR_NAMES = ["coef", "intercept", "loss_history"]


@st.composite
def _mutations(draw):
    """A list of changes to a model file's header and tensors, each a function of (header, buffer)."""
    changes = []
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["bytes", "field"] * 4 + ["retype", "drop", "dtype", "shape",
                                                              "offsets", "tensor", "metadata"]))
        if kind in ("field", "retype", "drop"):
            field = draw(st.sampled_from(list(_FIELD_VALUES)))
            specific = st.sampled_from(_FIELD_VALUES[field])
            value = {"field": st.one_of(specific, specific, specific, st.sampled_from(_NESTED),
                                        st.text(max_size=8) | _JSON_VALUES.map(json.dumps)),
                     "retype": _JSON_VALUES, "drop": st.just(None)}[kind]
            changes.append((kind, field, draw(value)))
        elif kind == "metadata":
            changes.append((kind, None, draw(st.sampled_from([None, [], "x", 1, [["format", 1]]]))))
        elif kind in ("dtype", "shape", "offsets", "tensor"):
            strategy = {"dtype": st.sampled_from(["F16", "BF16", "F32", "F64", "I64", "U8",
                                                  "BOOL", "x", 1]),
                        "shape": st.lists(st.integers(-1, 6) | st.just(2**62), max_size=3),
                        "offsets": st.lists(st.integers(-8, 200), min_size=2, max_size=2),
                        "tensor": st.sampled_from([None, "drop", "extra", [], {"dtype": "F64"}])}
            changes.append((kind, draw(st.sampled_from(_TENSOR_NAMES)), draw(strategy[kind])))
        else:  # new bytes in one tensor's data: raw, or one float that may be huge, NaN or inf
            data = draw(st.binary(min_size=1, max_size=8) | st.floats(width=64).map(
                lambda x: struct.pack("<d", x)) | st.floats(width=32).map(
                lambda x: struct.pack("<f", x)))
            changes.append((kind, draw(st.sampled_from(_TENSOR_NAMES)),
                            (draw(st.integers(0, 10**6)), data)))
    return changes


def _mutate(header, buffer, changes):
    """``header`` and ``buffer`` (a model file's) with ``changes`` from :func:`_mutations` made."""
    buffer = bytearray(buffer)
    metadata = header.get("__metadata__")
    for kind, where, value in changes:
        if kind in ("field", "retype") and isinstance(metadata, dict):
            metadata[where] = value
        elif kind == "drop" and isinstance(metadata, dict):
            metadata.pop(where, None)
        elif kind == "metadata":
            header["__metadata__"] = metadata = value
        elif kind in ("dtype", "shape", "offsets") and isinstance(header.get(where), dict):
            header[where][{"offsets": "data_offsets"}.get(kind, kind)] = value
        elif kind == "tensor":
            header.pop(where, None) if value == "drop" else header.update(
                {("extra" if value == "extra" else where): header.get("coef") if value == "extra"
                 else value})
        elif kind == "bytes":
            entry = header.get(where)
            offsets = entry.get("data_offsets") if isinstance(entry, dict) else None
            valid = isinstance(offsets, list) and len(offsets) == 2 and \
                all(isinstance(offset, int) for offset in offsets)
            begin, end = offsets if valid else (0, len(buffer))
            position, data = value
            position = begin + position % max(1, end - begin)
            buffer[position:position + len(data)] = data[:max(0, len(buffer) - position)]
    return header, bytes(buffer)


@pytest.fixture(scope="module")
def fuzz_models(tmp_path_factory, binary, iris):
    """Valid model files to mutate: binary (numbers, float32) and softmax (strings, names)."""
    directory = tmp_path_factory.mktemp("fuzz")
    X, y = binary
    X_iris, y_iris = iris
    models = {"binary": LogisticRegression().fit(X.astype(np.float32), y),
              "softmax": LogisticRegression(class_weight={"setosa": 2.0}).fit(X_iris, y_iris)}
    raws = {}
    for name, model in models.items():
        save_model(model, directory / f"{name}.safetensors", metrics={"train": {"accuracy": 1}})
        raws[name] = (directory / f"{name}.safetensors").read_bytes()
    return directory, raws


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(which=st.sampled_from(["binary", "softmax"]), changes=_mutations(),
       frame=st.sampled_from(["kept"] * 8 + ["length", "cut"]), number=st.integers(0, 2**64 - 1))
def test_a_mutated_model_file_loads_and_predicts_sanely_or_is_refused_naming_it(
        fuzz_models, which, changes, frame, number):
    directory, raws = fuzz_models
    raw = _join(*_mutate(*_split(raws[which]), changes))
    if frame == "length":  # another header length
        raw = struct.pack("<Q", number) + raw[8:]
    elif frame == "cut":  # the file cut short
        raw = raw[:number % len(raw)]
    path = directory / "mutated.safetensors"
    path.write_bytes(raw)
    try:
        model = load_model(path)
    except DataError as error:
        message = str(error)
        assert message.startswith(f"{path}: ") and "\n" not in message
        event(f"refused: {message[len(str(path)) + 2:][:40]}")
        return
    event("loaded")
    X = np.random.default_rng(0).uniform(-3, 3, size=(6, model.n_features_in_))
    if hasattr(model, "feature_names_in_"):
        X = pd.DataFrame(X, columns=model.feature_names_in_)
    try:
        proba = model.predict_proba(X)
    except ValueError as error:  # weights too large for this X: said, never a silent NaN
        assert "overflow" in str(error)
        event("logits overflow")
        return
    assert proba.shape == (6, len(model.classes_)) and np.all(np.isfinite(proba))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
    assert set(np.asarray(model.predict(X)).tolist()) <= set(model.classes_.tolist())


def test_huge_weights_load_and_overflowing_logits_are_an_error_not_nan(tmp_path):
    # weights of 1e200 are a real model for features of size 1e-200 (the CLI folds its
    # standardization into the weights); on ordinary X their logits overflow: said, not NaN
    rng = np.random.default_rng(0)
    X = rng.standard_normal((200, 4))
    y = (X[:, 0] > 0).astype(int)
    from noloop.preprocessing import fold_standardization

    model = LogisticRegression().fit(X, y)  # fitted on X = (X_tiny − 0) / 1e-200
    fold_standardization(model, np.zeros(4), np.full(4, 1e-200))
    assert np.max(np.abs(model.coef_)) > 1e200
    save_model(model, tmp_path / "tiny.safetensors")
    loaded = load_model(tmp_path / "tiny.safetensors")
    np.testing.assert_array_equal(loaded.predict(X * 1e-200), model.predict(X * 1e-200))
    with pytest.raises(ValueError, match="the logits X @ coef_.T \\+ intercept_ overflow"):
        loaded.predict_proba(np.full((2, 4), 1e300))
