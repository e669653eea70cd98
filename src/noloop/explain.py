"""``noloop explain``: the seed's vectorized steps on a small example, every shape shown."""

from __future__ import annotations

from typing import Callable

import numpy as np

from noloop import loops, vectorized

__all__ = ["explain"]


def _show(say: Callable[[str], None], name: str, shape: str, array: np.ndarray | float) -> None:
    say(f"{name}  {shape}")
    text = np.array2string(np.asarray(array), precision=4, suppress_small=True, max_line_width=100)
    for line in text.splitlines():
        say(f"    {line}")
    say("")


def explain(n_x: int = 3, m: int = 4, seed: int = 1, learning_rate: float = 0.1,
            say: Callable[[str], None] = print, l1: float = 0.0
            ) -> dict[str, np.ndarray | float]:
    """Print one forward/backward/update step of the seed's vectorized logistic regression.

    Parameters
    ----------
    n_x : int, default=3
        Features (rows of X).
    m : int, default=4
        Examples (columns of X).
    seed : int, default=1
    learning_rate : float, default=0.1
    say : callable, default=print
    l1 : float, default=0.0
        With λ > 0, also show the L1 (lasso) step that ``solver="gd"`` takes:
        the same gradient step, then a soft-threshold of w by α·λ (b is never
        penalized), which sets small weights exactly to zero.

    Returns
    -------
    arrays : dict
        Every intermediate: X, Y, w, b, Z, A, dZ, dw, db and the updated w, b.
    """
    if n_x < 1 or m < 1:
        raise ValueError(f"--n-x and --m must be at least 1; got n_x = {n_x}, m = {m}")
    rng = np.random.default_rng(seed)
    X = np.round(rng.uniform(-2, 2, (n_x, m)), 1)
    Y = (rng.random((1, m)) < 0.5).astype(float)
    w = np.round(rng.uniform(-1, 1, (n_x, 1)), 1)
    b = 0.5

    say(f"The seed's vectorized logistic regression, one step, on n_x = {n_x} features and "
        f"m = {m} examples.")
    say("No Python loop runs over examples or features below; each line is one array operation.")
    say("")
    _show(say, "X", f"(n_x, m) = {X.shape}: one column per example x⁽ⁱ⁾", X)
    _show(say, "Y", f"(1, m) = {Y.shape}: one label per example", Y)
    _show(say, "w", f"(n_x, 1) = {w.shape}", w)
    say(f"b  a scalar: {b}")
    say("")
    Z = np.dot(w.T, X) + b
    _show(say, "Z = np.dot(w.T, X) + b",
          f"w.T {w.T.shape} · X {X.shape} → {np.dot(w.T, X).shape}; + b broadcast to "
          f"[b, b, …, b] of (1, m) = {Z.shape}", Z)
    A = vectorized.forward(w, b, X)
    _show(say, "A = σ(Z)", f"elementwise, same shape {A.shape}", A)
    cost = vectorized.cost(A, Y)
    say(f"J = cost(A, Y) = -mean(Y·log A + (1 − Y)·log(1 − A)) = {cost:.6f}")
    say("")
    dZ = A - Y
    _show(say, "dZ = A − Y", f"{A.shape} − {Y.shape} → {dZ.shape}", dZ)
    dw, db = vectorized.backward(X, A, Y)
    _show(say, "dw = np.dot(X, dZ.T) / m", f"X {X.shape} · dZ.T {dZ.T.shape} → {dw.shape}, "
          "the shape of w", dw)
    say(f"db = np.sum(dZ) / m  a scalar: {db:.6f}")
    say("")
    new_w, new_b = w - learning_rate * dw, b - learning_rate * db
    _show(say, f"w := w − α·dw  (α = {learning_rate})", f"{new_w.shape}", new_w)
    say(f"b := b − α·db = {new_b:.6f}   (the seed prints b := w − α·dw: a typo)")
    new_cost = vectorized.cost(vectorized.forward(new_w, new_b, X), Y)
    say(f"cost before the step {cost:.6f}, after {new_cost:.6f}")
    loop_dw, loop_db = loops.backward(X, loops.forward(w, b, X), Y)
    same = np.allclose(loop_dw, dw, rtol=1e-12) and np.isclose(loop_db, db, rtol=1e-12)
    say(f"the explicit-loop twin (noloop.loops) gives the same dw and db: {'yes' if same else 'NO'}")
    arrays = {"X": X, "Y": Y, "w": w, "b": b, "Z": Z, "A": A, "dZ": dZ, "dw": dw, "db": db,
              "new_w": new_w, "new_b": new_b}
    if l1 > 0:
        say("")
        threshold = learning_rate * l1
        say(f"With an L1 penalty λ·‖w‖₁ (λ = {l1}), gd takes the same step and then soft-thresholds "
            f"w by α·λ = {threshold:g}:")
        sparse_w = np.sign(new_w) * np.maximum(np.abs(new_w) - threshold, 0.0)
        _show(say, "w := sign(w) · max(|w| − α·λ, 0)",
              f"elementwise on (n_x, 1) = {sparse_w.shape}; entries within α·λ of 0 become "
              f"exactly 0 ({int(np.sum(sparse_w == 0))} of {sparse_w.size} here)", sparse_w)
        say("b is not penalized: b := b − α·db as above. With momentum (FISTA) this is "
            "LogisticRegression(solver='gd', l1_ratio=1).")
        arrays["l1_w"] = sparse_w
    return arrays
