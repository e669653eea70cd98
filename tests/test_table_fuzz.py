"""Fuzzing ``noloop train`` with generated CSV files: it trains a usable model or says why in one line.

The promise (issue 15): whatever CSV a user brings, ``train`` either exits 0
with a model that predicts its own training file, or exits 2 with exactly one
``error:`` line on stderr and leaves an existing model file byte for byte as it
was. No exception ever escapes ``main``.
"""

from __future__ import annotations

import contextlib
import csv
import io
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from noloop.cli import main

NAMES = st.sampled_from(["a", "b", "c", "é", "列", "a,b", 'q"t', "x y"])
ODD_NAMES = st.sampled_from(["y", " ", "", "Unnamed: 0", "a"])
NUMBERS = st.one_of(
    st.integers(-3, 3).map(str),
    st.floats(allow_nan=False, allow_infinity=False, width=64).map(repr),
    st.sampled_from(["1e308", "-1e308", "1e-300", "5e-324", "1e200", " 2 ", "+1", ".5"]),
)
ODD_CELLS = st.sampled_from(["", " ", "inf", "nan", "NA", "None", "null", "n/a", "True", "false",
                             "x", "é", "1,5", 'say "hi"', "two\nlines", "0x10", "1_000", "0.5"])
LABELS = st.sampled_from(["0", "1", "cat", "dog", "NA", "None", "1.0", "True", "é"])


@st.composite
def csv_files(draw: st.DrawFn) -> tuple[bytes, str]:
    """(the bytes of a CSV file, the --target to ask for); each oddity drawn now and then."""
    def now_and_then(chance: int = 6) -> bool:
        return draw(st.integers(0, chance - 1)) == 0

    features = draw(st.lists(NAMES, min_size=1, max_size=3, unique=True))
    if now_and_then():
        features[draw(st.integers(0, len(features) - 1))] = draw(ODD_NAMES)
    header = features + ["y" if not now_and_then(10) else "z"]
    n_rows = draw(st.integers(0 if now_and_then(10) else 2, 8))
    cells = st.one_of(NUMBERS, ODD_CELLS) if now_and_then(4) else NUMBERS
    labels = st.sampled_from(draw(st.lists(LABELS, min_size=1, max_size=3, unique=True)))
    rows = [[draw(cells) for _ in features] + [draw(labels) if not now_and_then(30) else ""]
            for _ in range(n_rows)]
    if rows and now_and_then(10):  # a ragged row
        rows[draw(st.integers(0, len(rows) - 1))].append("9")
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";" if now_and_then(15) else ",",
                        lineterminator=draw(st.sampled_from(["\n", "\r\n"])))
    writer.writerow(header)
    for row in rows:
        writer.writerow(row)
        if now_and_then():
            buffer.write("\n")  # a blank line
    text = buffer.getvalue()
    if now_and_then(15):  # a stray quote
        at = draw(st.integers(0, len(text)))
        text = text[:at] + '"' + text[at:]
    return text.encode("utf-8"), "y"


def _run(argv: list[str]) -> tuple[int, str]:
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        code = main(argv)
    return code, stderr.getvalue()


@pytest.fixture(scope="module")
def old_model(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """The bytes of a valid model, which every failed run must leave as they were."""
    folder = tmp_path_factory.mktemp("fuzz")
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 2))
    lines = ["a,b,y"] + [f"{a},{b},{int(a + b > 0)}" for a, b in X]
    (folder / "good.csv").write_text("\n".join(lines) + "\n")
    code, stderr = _run(["train", str(folder / "good.csv"), "--target", "y", "--model",
                         str(folder / "m.safetensors"), "--quiet"])
    assert code == 0, stderr
    return (folder / "m.safetensors").read_bytes()


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                   HealthCheck.data_too_large])
@given(case=csv_files())
def test_train_keeps_its_promise_on_any_csv(old_model: bytes, case: tuple[bytes, str]) -> None:
    content, target = case
    with tempfile.TemporaryDirectory() as folder:
        data, model = Path(folder) / "data.csv", Path(folder) / "m.safetensors"
        data.write_bytes(content)
        model.write_bytes(old_model)
        code, stderr = _run(["train", str(data), "--target", target, "--model", str(model),
                             "--quiet"])
        errors = [line for line in stderr.splitlines() if line.startswith("error:")]
        if code == 0:
            assert not errors, stderr
            predicted, stderr = _run(["predict", str(model), str(data), "--output",
                                      str(Path(folder) / "p.csv"), "--quiet"])
            assert predicted == 0, stderr
        else:
            assert code == 2, stderr
            assert len(errors) == 1 and stderr.strip() == errors[0], stderr
            assert "Traceback" not in stderr
            assert model.read_bytes() == old_model
