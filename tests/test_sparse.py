"""scipy.sparse input: sparse fits equal dense fits, the CSR kernels, Dask sparse chunks, LIBSVM files."""

import json
import warnings

import numpy as np
import pytest
import scipy.sparse as sp

from noloop import LogisticRegression
from noloop.linear_model import _sparse_kernels
from noloop.linear_model._sparse import SparseData

SOLVERS = ["lbfgs", "newton-cholesky", "newton-cg", "gd"]


@pytest.fixture(scope="module")
def problem():
    """A small sparse matrix (~15% non-zeros, one empty row), 3-class labels and weights."""
    rng = np.random.default_rng(0)
    X = sp.random_array((150, 12), density=0.15, format="csr", random_state=1)
    X = sp.csr_array(X.toarray() * 3)
    X = sp.csr_array(np.vstack([X.toarray()[:-1], np.zeros(12)]))
    y3 = rng.integers(0, 3, 150)
    return X, y3, rng.random(150) + 0.5


def _fit(X, y, solver, sample_weight=None, **kwargs):
    # gd needs many small steps; C = 0.5 keeps it well conditioned
    model = LogisticRegression(solver=solver, C=0.5, tol=1e-11, max_iter=20000, **kwargs)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a fit that did not converge fails the test
        return model.fit(X, y, sample_weight=sample_weight)


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("n_classes", [2, 3])
def test_sparse_fit_equals_dense_fit(problem, solver, n_classes):
    X, y3, weight = problem
    y = y3 if n_classes == 3 else (y3 > 0).astype(int)
    sparse = _fit(X, y, solver, sample_weight=weight)
    dense = _fit(X.toarray(), y, solver, sample_weight=weight)
    np.testing.assert_allclose(sparse.coef_, dense.coef_, rtol=0, atol=1e-8)
    np.testing.assert_allclose(sparse.intercept_, dense.intercept_, rtol=0, atol=1e-8)
    np.testing.assert_allclose(sparse.predict_proba(X), dense.predict_proba(X.toarray()),
                               rtol=0, atol=1e-8)
    np.testing.assert_array_equal(sparse.predict(X), dense.predict(X.toarray()))


@pytest.mark.parametrize("kind", ["csc_matrix", "coo_array", "csr_matrix", "float32", "int64"])
def test_every_sparse_kind_fits_alike(problem, kind):
    X, y3, _ = problem
    reference = _fit(X, y3, "newton-cg")
    if kind == "float32":
        other = X.astype(np.float32)
    elif kind == "int64":
        other = X.copy()
        other.indices, other.indptr = X.indices.astype(np.int64), X.indptr.astype(np.int64)
    else:
        other = getattr(sp, kind)(X)
    model = _fit(other, y3, "newton-cg")
    atol = 1e-5 if kind == "float32" else 1e-10
    np.testing.assert_allclose(model.coef_, reference.coef_, rtol=0, atol=atol)
    assert model.coef_.dtype == (np.float32 if kind == "float32" else np.float64)
    assert model.decision_function(other).shape == (150, 3)


def test_sklearn_parity_on_sparse_breast_cancer():
    from sklearn.datasets import load_breast_cancer
    from sklearn.linear_model import LogisticRegression as Reference
    from sklearn.preprocessing import StandardScaler

    X, y = load_breast_cancer(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    X[np.abs(X) < 0.7] = 0.0  # about half the entries become structural zeros
    X = sp.csr_array(X)
    ours = LogisticRegression(solver="newton-cg", tol=1e-10).fit(X, y)
    theirs = Reference(solver="newton-cg", tol=1e-10, max_iter=1000).fit(X, y)
    np.testing.assert_allclose(ours.coef_, theirs.coef_, rtol=0, atol=1e-6)
    np.testing.assert_allclose(ours.intercept_, theirs.intercept_, rtol=0, atol=1e-6)
    assert ours.score(X, y) == theirs.score(X, y)


@pytest.mark.parametrize("n_outputs", [1, 3])
def test_fused_kernels_equal_scipy_products(problem, n_outputs):
    """Loss, gradient and Hessian-vector products: fused one-pass kernels vs scipy's two passes,
    and the products against central differences of the gradient."""
    X, y3, weight = problem
    rng = np.random.default_rng(2)
    Y = np.eye(3)[y3] if n_outputs == 3 else (y3 > 0).astype(float)[:, None]
    terms = [SparseData(X, Y, weight / weight.sum(), True, kernels=flag) for flag in (True, False)]
    coef, v = rng.standard_normal((2, n_outputs, 13))
    (value_k, grad_k), (value_s, grad_s) = (term.loss_gradient(coef) for term in terms)
    assert value_k == pytest.approx(value_s, rel=1e-13)
    np.testing.assert_allclose(grad_k, grad_s, rtol=0, atol=1e-13)
    Hv_k, Hv_s = (term.hessian_product(coef)(v) for term in terms)
    np.testing.assert_allclose(Hv_k, Hv_s, rtol=0, atol=1e-12)
    eps = 1e-6
    numeric = (terms[1].loss_gradient(coef + eps * v)[1]
               - terms[1].loss_gradient(coef - eps * v)[1]) / (2 * eps)
    np.testing.assert_allclose(Hv_s, numeric, rtol=0, atol=1e-7)
    H = terms[1].hessian(coef)
    np.testing.assert_allclose(H @ v.ravel(), Hv_s.ravel(), rtol=0, atol=1e-12)


def test_row_blocks_split_the_non_zeros_evenly():
    indptr = np.array([0, 10, 10, 11, 30, 31, 40])
    bounds = _sparse_kernels.row_blocks(indptr, 2)
    assert bounds[0] == 0 and bounds[-1] == 6 and np.all(np.diff(bounds) >= 0)
    assert _sparse_kernels.row_blocks(indptr, 10)[-1] == 6


def test_sparse_torch_tensor_is_a_clear_type_error(problem):
    torch = pytest.importorskip("torch")
    X, y3, _ = problem
    coo = X.tocoo()
    tensor = torch.sparse_coo_tensor(np.vstack([coo.row, coo.col]), coo.data, X.shape)
    with pytest.raises(TypeError, match="scipy.sparse CSR"):
        LogisticRegression().fit(tensor, y3)
    fitted = _fit(X, y3, "lbfgs")
    with pytest.raises(TypeError, match="scipy.sparse CSR"):
        fitted.predict(tensor.to_sparse_csr())


def test_warm_start_and_class_weight_on_sparse(problem):
    X, y3, _ = problem
    cold = _fit(X, y3, "newton-cg", class_weight="balanced")
    dense = _fit(X.toarray(), y3, "newton-cg", class_weight="balanced")
    np.testing.assert_allclose(cold.coef_, dense.coef_, rtol=0, atol=1e-8)
    warm = LogisticRegression(solver="newton-cg", C=0.5, tol=1e-11, warm_start=True,
                              class_weight="balanced")
    warm.fit(X, y3)
    warm.fit(X, y3)
    assert warm.n_iter_[0] <= 1
    np.testing.assert_allclose(warm.coef_, cold.coef_, rtol=0, atol=1e-8)


def test_dask_array_of_sparse_chunks(problem, dask_client):
    import dask.array as da

    X, y3, weight = problem
    blocks = [X[start:start + 50] for start in range(0, 150, 50)]
    X_dask = da.concatenate([da.from_array(block, chunks=block.shape, asarray=False)
                             for block in blocks], axis=0)
    y_dask = da.from_array(y3, chunks=50)
    # newton-cholesky: a few round trips to the cluster, each chunk's Hessian from SparseData
    model = LogisticRegression(C=0.5, tol=1e-10, solver="newton-cholesky").fit(X_dask, y_dask)
    local = _fit(X, y3, "newton-cholesky")
    np.testing.assert_allclose(model.coef_, local.coef_, rtol=0, atol=1e-7)
    np.testing.assert_allclose(np.asarray(model.predict_proba(X_dask).compute()),
                               local.predict_proba(X), rtol=0, atol=1e-7)


# ------------------------------------------------------------------ command line


@pytest.fixture(scope="module")
def svm_files(tmp_path_factory):
    """A LIBSVM file, the same matrix as a scipy .npz with NAME.labels.npy, and malformed files."""
    from sklearn.datasets import dump_svmlight_file

    folder = tmp_path_factory.mktemp("svm")
    rng = np.random.default_rng(3)
    X = sp.random_array((120, 30), density=0.2, format="csr", random_state=4)
    y = (X @ rng.standard_normal(30) > 0).astype(int)
    dump_svmlight_file(X, y, str(folder / "train.svm"), zero_based=False)
    sp.save_npz(folder / "train.npz", sp.csr_matrix(X))
    np.save(folder / "train.labels.npy", y)
    (folder / "bad_index.svm").write_text("1 3:0.5 x:1\n0 2:1\n")
    (folder / "bad_value.svm").write_text("1 3:abc\n0 2:1\n")
    return folder, X, y


def _cli(*arguments):
    from noloop.cli import main

    return main([str(argument) for argument in arguments])


def test_libsvm_round_trip_train_predict_evaluate(svm_files, capsys):
    import pandas as pd

    from noloop.persistence import load_model

    folder, X, y = svm_files
    model_path, output = folder / "m.safetensors", folder / "p.csv"
    assert _cli("train", folder / "train.svm", "--model", model_path, "--solver", "newton-cg",
                "--tol", "1e-10") == 0
    assert "not standardized" in capsys.readouterr().out
    model = load_model(model_path)
    reference = LogisticRegression(solver="newton-cg", tol=1e-10).fit(X, y)
    np.testing.assert_allclose(model.coef_, reference.coef_, rtol=0, atol=1e-8)
    assert _cli("predict", model_path, folder / "train.svm", "--output", output, "--proba") == 0
    predictions = pd.read_csv(output)
    np.testing.assert_array_equal(predictions["prediction"], reference.predict(X))
    np.testing.assert_allclose(predictions["proba_1.0"], reference.predict_proba(X)[:, 1],
                               rtol=1e-12)
    capsys.readouterr()
    assert _cli("evaluate", model_path, folder / "train.npz", "--json") == 0
    metrics = json.loads(capsys.readouterr().out)
    assert metrics["accuracy"] == pytest.approx(reference.score(X, y))
    assert _cli("train", folder / "train.npz", "--model", folder / "n.safetensors",
                "--tol", "1e-10", "--solver", "newton-cg") == 0
    np.testing.assert_allclose(load_model(folder / "n.safetensors").coef_, reference.coef_,
                               rtol=0, atol=1e-8)


@pytest.mark.parametrize("name, extra, message", [
    ("bad_index.svm", [], "bad_index.svm: not a valid LIBSVM"),
    ("bad_value.svm", [], "bad_value.svm: not a valid LIBSVM"),
    ("train.svm", ["--n-features", "10"], "beyond --n-features"),
])
def test_malformed_libsvm_is_one_error_line_and_the_model_survives(svm_files, capsys, name,
                                                                    extra, message):
    folder, _, _ = svm_files
    model_path = folder / "keep.safetensors"
    model_path.write_bytes(b"an earlier model")
    assert _cli("train", folder / name, "--model", model_path, *extra) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error:") and message in err[0]
    assert model_path.read_bytes() == b"an earlier model"


@pytest.mark.parametrize("n_outputs", [1, 3])
@pytest.mark.parametrize("kind", ["float32", "int64", "unsorted"])
def test_fused_kernels_on_every_csr_variant(problem, n_outputs, kind):
    """The kernels index through unsigned integers: float32 data, int64 indices, unsorted
    column indices within rows and empty rows give scipy's loss, gradient and H·v."""
    X, y3, weight = problem
    X = sp.csr_array(np.vstack([np.zeros(12), X.toarray(), np.zeros(12)]))  # empty first/last rows
    y3, weight = np.concatenate([[0], y3, [2]]), np.concatenate([[1.0], weight, [0.7]])
    if kind == "float32":
        X = X.astype(np.float32)
    elif kind == "int64":
        X.indices, X.indptr = X.indices.astype(np.int64), X.indptr.astype(np.int64)
    else:
        rng = np.random.default_rng(3)
        indices, data = X.indices.copy(), X.data.copy()
        for start, stop in zip(X.indptr[:-1], X.indptr[1:]):
            order = start + rng.permutation(stop - start)
            indices[start:stop], data[start:stop] = X.indices[order], X.data[order]
        X = sp.csr_array((data, indices, X.indptr), shape=X.shape)
        assert not X.has_sorted_indices
    Y = np.eye(3)[y3] if n_outputs == 3 else (y3 > 0).astype(float)[:, None]
    terms = [SparseData(X, Y, weight / weight.sum(), True, kernels=flag) for flag in (True, False)]
    coef, v = np.random.default_rng(4).standard_normal((2, n_outputs, 13))
    (value_k, grad_k), (value_s, grad_s) = (term.loss_gradient(coef) for term in terms)
    assert value_k == pytest.approx(value_s, rel=1e-12)
    np.testing.assert_allclose(grad_k, grad_s, rtol=0, atol=1e-12)
    Hv_k, Hv_s = (term.hessian_product(coef)(v) for term in terms)
    np.testing.assert_allclose(Hv_k, Hv_s, rtol=0, atol=1e-12)


@pytest.mark.parametrize("n_blocks", [1, 2])
def test_binary_kernels_across_row_chunks(n_blocks):
    """The binary kernels work in chunks of rows: blocks of several chunks, a partial last
    chunk and empty rows on a chunk's edge give scipy's loss, gradient and H·v."""
    n_samples = 3 * _sparse_kernels._CHUNK_ROWS + 37
    X = sp.random_array((n_samples, 40), density=0.1, format="csr", random_state=6)
    dense = X.toarray()
    dense[[0, _sparse_kernels._CHUNK_ROWS - 1, _sparse_kernels._CHUNK_ROWS, n_samples - 1]] = 0
    X = sp.csr_array(dense)
    rng = np.random.default_rng(7)
    Y = (rng.random(n_samples) < 0.4).astype(float)[:, None]
    weight = rng.random(n_samples) + 0.5
    weight /= weight.sum()
    scipy_term = SparseData(X, Y, weight, True, kernels=False)
    work = _sparse_kernels.Workspace(X.indptr, 41, n_blocks=n_blocks)
    coef, v = rng.standard_normal((2, 1, 41))
    value, grad = _sparse_kernels.binary_loss_gradient(X.data, X.indices, X.indptr, Y[:, 0], weight,
                                                       coef[0, :40], coef[0, 40], work)
    value_s, grad_s = scipy_term.loss_gradient(coef)
    assert value == pytest.approx(float(value_s), rel=1e-13)
    np.testing.assert_allclose(grad, grad_s[0], rtol=0, atol=1e-13)
    h = _sparse_kernels.binary_curvature(X.data, X.indices, X.indptr, weight, coef[0, :40],
                                         coef[0, 40])
    Hv = _sparse_kernels.binary_hessian_product(X.data, X.indices, X.indptr, h, v[0, :40],
                                                v[0, 40], work)
    np.testing.assert_allclose(Hv, scipy_term.hessian_product(coef)(v)[0], rtol=0, atol=1e-13)


def test_kernel_workspace_follows_more_threads_than_it_was_made_for(problem):
    """A workspace made with fewer blocks than threads still covers every row once."""
    X, y3, weight = problem
    Y = (y3 > 0).astype(float)[:, None]
    coef = np.random.default_rng(5).standard_normal((1, 13))
    reference = SparseData(X, Y, weight / weight.sum(), True).loss_gradient(coef)
    for n_blocks in (1, 3, 150):
        work = _sparse_kernels.Workspace(X.indptr, 13, n_blocks=n_blocks)
        value, flat = _sparse_kernels.binary_loss_gradient(
            X.data, X.indices, X.indptr, Y[:, 0], weight / weight.sum(), coef[0, :12],
            coef[0, 12], work)
        assert value == pytest.approx(float(reference[0]), rel=1e-13)
        np.testing.assert_allclose(flat, reference[1][0], rtol=0, atol=1e-14)


def test_peak_memory_of_a_sparse_fit_is_measured_against_the_csr_arrays():
    """The memory row of `noloop bench --only sparse`: a fresh process loads the .npz and fits."""
    from noloop.bench.memory import peak_memory_of_fit
    from noloop.bench.sparse import SparseProblem, text_like

    X, y = text_like(SparseProblem(n_samples=3_000, n_features=2_000, nnz_per_row=10.0))
    memory = peak_memory_of_fit(X, y, "newton-cg")
    assert memory["X_bytes"] == X.data.nbytes + X.indices.nbytes + X.indptr.nbytes
    assert memory["peak_rss_bytes"] >= memory["rss_before_fit_bytes"] > memory["X_bytes"]
    assert memory["added_fraction_of_X"] == pytest.approx(memory["added_bytes"] / memory["X_bytes"])
