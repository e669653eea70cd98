"""Model files: a fitted :class:`~noloop.LogisticRegression` as data, written atomically.

A model file is a safetensors file. Its tensors are the weights (``coef`` of
shape (n_outputs, n_features), ``intercept`` of shape (n_outputs,)), the
cost history and, when ``noloop train --summary`` computed it, the covariance
of the coefficients (``covariance``, with its type and n in the header; read
by :func:`read_model_covariance`); its JSON header holds the classes, feature names,
hyperparameters, training metrics, noloop's version and a format version.
Nothing is unpickled, ever: a pickle or any other file in place of a model is
refused before any of it is interpreted.

Reading checks every field (JSON types, dtypes, shapes, byte ranges, finite
weights, classes held exactly by their dtype, a known format version) before
it is used; any refusal is one :class:`~noloop.errors.DataError` naming the
file and the field. Two saves of one model give the same bytes.

Writes are atomic: a temporary file beside the target is fsynced and renamed
over it, so a failed or interrupted save never leaves a half-written file and
never damages a model already at that path. The file gets the mode a plain
``open(path, "w")`` would give it (a replaced file keeps its own), a symbolic
link is written through, and temporaries left by killed writes are cleaned.

This module imports only NumPy and the standard library when it loads; the
estimator and safetensors are imported by the functions that need them.
"""

from __future__ import annotations

import contextlib
import errno
import json
import math
import os
import re
import secrets
import stat
import struct
import time
from pathlib import Path
from typing import Any, BinaryIO, Iterator

import numpy as np

from noloop.errors import DataError

__all__ = [
    "MODEL_FORMAT",
    "MODEL_FORMAT_VERSION",
    "STALE_TEMPORARY_AGE_S",
    "atomic_write_bytes",
    "atomic_writer",
    "save_model",
    "load_model",
    "read_model_metrics",
    "read_model_covariance",
    "COVARIANCE_TYPES",
]

MODEL_FORMAT = "noloop-logistic-regression"
MODEL_FORMAT_VERSION = 1
#: The covariance types a model file can keep (those of ``LogisticRegression.covariance_matrix``).
COVARIANCE_TYPES = ("nonrobust", "HC0", "HC1", "cluster")

#: A temporary file of an interrupted write is removed by the next write to the
#: same path once its writer's process is gone, or once it is this many seconds old.
STALE_TEMPORARY_AGE_S = 3600.0


# ------------------------------------------------------------------ atomic writes

# A temporary file is named ``.{target name}.{writer pid}-{8 hex digits}.tmp`` beside its
# target; ``tempfile.mkstemp`` names of earlier versions (``.{target name}.{8 chars}.tmp``)
# are recognised too, so that their leftovers are cleaned as well.
_TEMPORARY = r"\.{name}\.(?:(?P<pid>[0-9]{{1,10}})-[0-9a-f]{{8}}|[a-z0-9_]{{8}})\.tmp"


def _write_target(path: Path) -> Path:
    """The file a write to ``path`` replaces: a symbolic link's target, so that the link stays."""
    if not os.path.islink(path):
        return path
    target = Path(os.path.realpath(path))
    if os.path.islink(target):  # a loop of links: open(path, "w") would fail the same way
        raise OSError(errno.ELOOP, os.strerror(errno.ELOOP), str(path))
    return target


def _writer_is_alive(pid: int) -> bool:
    """Whether process ``pid`` runs on this machine (True when that cannot be told)."""
    if os.name != "posix" or pid <= 0:  # os.kill(pid, 0) would end a process on Windows
        return True
    try:
        os.kill(pid, 0)
    except PermissionError:  # another user's process
        return True
    except (OSError, OverflowError):  # ESRCH (ProcessLookupError), or no such pid at all
        return False
    return True


def _remove_stale_temporaries(target: Path, *, max_age_s: float = STALE_TEMPORARY_AGE_S) -> None:
    """Delete the temporaries of ``target`` that no write will rename any more.

    A write killed between creating its temporary file and renaming it
    (SIGKILL, power loss) leaves the temporary behind. One is stale when its
    writer's process is gone (the pid is in the name; checked on POSIX only)
    or when it is older than ``max_age_s`` seconds. Temporaries of other
    targets, and files this module did not name, are left alone.
    """
    pattern = re.compile(_TEMPORARY.format(name=re.escape(target.name)))
    now = time.time()
    with contextlib.suppress(OSError):
        for entry in os.scandir(target.parent):
            match = pattern.fullmatch(entry.name)
            if match is None:
                continue
            with contextlib.suppress(OSError):
                pid = match.group("pid")
                dead = pid is not None and int(pid) != os.getpid() and not _writer_is_alive(int(pid))
                if dead or now - entry.stat(follow_symlinks=False).st_mtime > max_age_s:
                    os.unlink(entry.path)


def _create_temporary(target: Path) -> tuple[int, Path]:
    """A new, empty temporary file beside ``target``, opened for writing: (descriptor, path).

    It is created with mode 0666 less the umask, as ``open(path, "w")`` would
    create ``target`` (``tempfile.mkstemp`` would make it 0600).
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    while True:
        temporary = target.with_name(f".{target.name}.{os.getpid()}-{secrets.token_hex(4)}.tmp")
        try:
            return os.open(temporary, flags, 0o666), temporary
        except FileExistsError:
            continue


def _keep_mode(descriptor: int, target: Path) -> None:
    """Give the open temporary file the mode (and group) of the file it will replace, if any."""
    try:
        status = os.stat(target)
    except OSError:
        return
    if hasattr(os, "fchmod"):
        os.fchmod(descriptor, stat.S_IMODE(status.st_mode))
    if hasattr(os, "fchown") and os.fstat(descriptor).st_gid != status.st_gid:
        with contextlib.suppress(OSError):
            os.fchown(descriptor, -1, status.st_gid)


def _named(error: OSError, path: Path) -> OSError:
    """``error`` again, naming the user's ``path`` rather than the hidden temporary file."""
    if error.errno is None:
        return error
    return type(error)(error.errno, error.strerror, str(path))


def atomic_write_bytes(path: str | os.PathLike, payload: bytes) -> None:
    """Write ``payload`` to ``path`` so that readers see the old file or the new one, never half.

    The bytes go to a temporary file in the same directory, are flushed to
    disk, then renamed over ``path`` (an atomic replace on POSIX and Windows).
    On any failure the temporary file is removed and ``path`` is untouched.
    A new file gets the mode ``open(path, "w")`` would give it (0666 less the
    umask); a replaced file keeps its mode. When ``path`` is a symbolic link,
    the file it points to is replaced and the link stays. Temporaries left by
    killed writes to the same path are removed (see
    :data:`STALE_TEMPORARY_AGE_S`).

    Parameters
    ----------
    path : str or path-like
        The file to create or replace.
    payload : bytes
        Its whole new content.

    Raises
    ------
    DataError
        When the directory of ``path`` does not exist.
    OSError
        When the file cannot be written (permissions, a full disk, a
        directory in its place); the error names ``path``, not the temporary.
    """
    with atomic_writer(path) as handle:
        handle.write(payload)


@contextlib.contextmanager
def atomic_writer(path: str | os.PathLike) -> Iterator[BinaryIO]:
    """A binary file to write ``path`` piece by piece, replacing it only once all is written.

    As :func:`atomic_write_bytes` (same temporary file, mode, link and error
    rules), for content too large to hold as one ``bytes``: the pieces go to
    the temporary file as they come; when the ``with`` block ends normally it
    is flushed to disk and renamed over ``path``; when it raises, the
    temporary file is removed and ``path`` is untouched.

    Parameters
    ----------
    path : str or path-like
        The file to create or replace.

    Yields
    ------
    handle : binary file
    """
    path = Path(path)
    target = _write_target(path)
    if not target.parent.is_dir():
        raise DataError(f"{path}: the directory {target.parent} does not exist")
    _remove_stale_temporaries(target)
    try:
        descriptor, temporary = _create_temporary(target)
    except OSError as error:
        raise _named(error, path) from None
    try:
        with os.fdopen(descriptor, "wb") as handle:
            _keep_mode(handle.fileno(), target)
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, target)
    except BaseException as error:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        if isinstance(error, OSError):
            raise _named(error, path) from None
        raise


# ------------------------------------------------------------------ writing

# The tensor dtypes a model file holds, by their safetensors names; stored little-endian.
_TENSOR_DTYPES = {"F32": np.dtype("<f4"), "F64": np.dtype("<f8")}


def _json_ready(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(key): _json_ready(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_ready(item) for item in value]
    if isinstance(value, np.generic):
        return _json_ready(value.item())
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value


def _json_text(value: Any) -> str:
    """``value`` as JSON text, the same text for the same value (keys sorted)."""
    return json.dumps(_json_ready(value), sort_keys=True, allow_nan=False)


def _safetensors_bytes(tensors: dict[str, np.ndarray], metadata: dict[str, str]) -> bytes:
    """A safetensors file holding ``tensors`` and ``metadata``, byte for byte the same each time.

    safetensors' own writer keeps the metadata in a hash map, whose order
    changes from one process to the next; here the header's keys are sorted.
    Tensors are laid out widest dtype first, so that each is aligned, and the
    header is padded with spaces to a multiple of 8 bytes, as safetensors does.
    """
    header: dict[str, Any] = {"__metadata__": metadata}
    chunks: list[bytes] = []
    offset = 0
    codes = {dtype: code for code, dtype in _TENSOR_DTYPES.items()}
    for name in sorted(tensors, key=lambda name: (-tensors[name].dtype.itemsize, name)):
        array = tensors[name]
        data = np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("<")).tobytes()
        header[name] = {"dtype": codes[array.dtype.newbyteorder("<")], "shape": list(array.shape),
                        "data_offsets": [offset, offset + len(data)]}
        chunks.append(data)
        offset += len(data)
    text = json.dumps(header, sort_keys=True, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + b"".join(chunks)


def save_model(model: Any, path: str | os.PathLike, *, metrics: dict[str, Any] | None = None,
               covariance: dict[str, Any] | None = None) -> None:
    """Save a fitted :class:`noloop.LogisticRegression` to ``path`` (safetensors + JSON), atomically.

    Two saves of the same model with the same metrics give the same bytes.

    Parameters
    ----------
    model : LogisticRegression
        A fitted noloop model, on any array library (weights are stored as NumPy).
    path : str or path-like
        Where the file goes; a file already there is replaced only once the
        new one is complete (see :func:`atomic_write_bytes`).
    metrics : dict, optional
        Training metrics to keep beside the weights (JSON-ready values; read
        back by :func:`read_model_metrics` and shown by ``noloop evaluate``).
    covariance : dict, optional
        The covariance of the coefficients, kept for ``noloop summary``:
        ``{"matrix": ndarray of shape (n_params, n_params), "cov_type": str,
        "n_samples": int}``, the matrix as ``model.covariance_matrix`` gives
        it (rows in ``coef_table``'s order). Read back by
        :func:`read_model_covariance`.

    Raises
    ------
    TypeError
        When ``model`` is not a noloop ``LogisticRegression`` (a scikit-learn
        estimator, for instance).
    ValueError
        When ``model`` is not fitted, or its classes are neither numbers nor strings.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from sklearn.datasets import load_iris
    >>> from noloop import LogisticRegression, load_model, save_model
    >>> X, y = load_iris(return_X_y=True)
    >>> model = LogisticRegression(max_iter=1000).fit(X, y)
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "iris.safetensors"
    >>> save_model(model, path, metrics={"accuracy": 0.97})
    >>> loaded, metrics = load_model(path, with_metrics=True)
    >>> bool((loaded.predict(X) == model.predict(X)).all()), metrics
    (True, {'accuracy': 0.97})
    """
    from noloop import __version__
    from noloop.linear_model import LogisticRegression

    if not isinstance(model, LogisticRegression):
        kind = type(model)
        hint = ("; save its chosen model, model.to_logistic_regression()"
                if hasattr(model, "to_logistic_regression") else "")
        raise TypeError(f"save_model saves a noloop.LogisticRegression; got "
                        f"{kind.__module__}.{kind.__qualname__}{hint}")
    if not hasattr(model, "coef_"):
        raise ValueError("save_model needs a fitted model; call fit first")
    state = model._fitted_state()
    classes = state["classes"]
    if classes.dtype == object and all(isinstance(label, str) for label in classes):
        classes = classes.astype(str)
    if classes.dtype.kind not in _CLASS_TYPES:
        raise ValueError(f"classes of dtype {classes.dtype} cannot be saved; use numbers or strings")
    params = {key: value for key, value in model.get_params().items() if key != "callback"}
    if params.get("C") == math.inf:  # JSON has no infinity: C=np.inf (no penalty) is kept as "inf"
        params["C"] = "inf"
    metadata = {
        "format": MODEL_FORMAT,
        "format_version": str(MODEL_FORMAT_VERSION),
        "noloop_version": __version__,
        "classes": _json_text(classes.tolist()),
        "classes_dtype": classes.dtype.str,
        "feature_names": _json_text(state["feature_names"] or []),
        "n_features": str(state["coef"].shape[1]),
        "hyperparameters": _json_text(params),
        "metrics": _json_text(metrics or {}),
        "n_iter": str(state["n_iter"]),
        "stop_reason": state["stop_reason"],
        "converged": json.dumps(state["converged"]),
        "dtype": str(state["coef"].dtype),
    }
    tensors = {
        "coef": state["coef"],
        "intercept": state["intercept"],
        "loss_history": np.asarray(state["loss_history"], dtype=np.float64),
    }
    if covariance is not None:
        matrix, info = _checked_covariance(covariance, _n_params(state["coef"].shape,
                                                                 bool(model.fit_intercept)))
        tensors["covariance"] = matrix
        metadata["covariance"] = _json_text(info)
    if "encoding" in state:  # a table's encoding: levels etc. as JSON, imputation values as a tensor
        description, encoding_tensors = state["encoding"].to_metadata()
        metadata["encoding"] = _json_text(description)
        tensors.update({f"encoding.{name}": array for name, array in encoding_tensors.items()})
    atomic_write_bytes(path, _safetensors_bytes(tensors, metadata))


# ------------------------------------------------------------------ reading
#
# A model file is read field by field, each checked for its JSON type, its
# form and its range before any array is built from it; the estimator's
# ``_from_fitted_state`` then checks the fitted state as a whole (shapes,
# finiteness, sorted unique classes). Every refusal is one DataError naming
# the file and the field.

# JSON types allowed for the classes, by NumPy dtype kind (bool is no number here).
_CLASS_TYPES: dict[str, tuple[type, ...]] = {"b": (bool,), "i": (int,), "u": (int,),
                                             "f": (int, float), "U": (str,)}
_CLASS_DTYPE = re.compile(r"[<>|=]?(?:b1|[iu][1248]|f[248]|U[1-9][0-9]{0,4})")
_TENSOR_NDIM = {"coef": 2, "intercept": 1, "loss_history": 1, "covariance": 2,
                "encoding.impute": 1}
_REQUIRED_TENSORS = {"coef", "intercept"}
_MAX_HEADER_BYTES = 100_000_000


def _shown(value: Any, limit: int = 80) -> str:
    """``repr(value)``, cut to ``limit`` characters."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit - 3]}..."


def _corrupt(path: Path, field: str, expected: str, got: str) -> DataError:
    """The error for a model file whose ``field`` is not what ``expected`` says: ``got`` came."""
    return DataError(f"{path}: is a corrupt noloop model file (field `{field}`: "
                     f"expected {expected}; got {got})")


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _parse_json(text: str | bytes) -> Any:
    """``json.loads`` without NaN/Infinity; ValueError (or RecursionError) when it is not JSON."""
    return json.loads(text, parse_constant=_refuse_constant)


def _json_field(path: Path, metadata: dict[str, str], field: str, expected: str,
                default: str | None = None) -> Any:
    """The JSON value of ``metadata[field]``; ``default`` when absent (required when None)."""
    text = _text_field(path, metadata, field, expected, default)
    try:
        return _parse_json(text)
    except (ValueError, RecursionError):  # JSONDecodeError is a ValueError, as is a 5000-digit int
        raise _corrupt(path, field, expected, f"text that is not JSON: {_shown(text)}") \
            from None


def _text_field(path: Path, metadata: dict[str, str], field: str, expected: str,
                default: str | None = None) -> str:
    if field in metadata:
        return metadata[field]
    if default is None:
        raise _corrupt(path, field, expected, "no such field")
    return default


def _integer_field(path: Path, metadata: dict[str, str], field: str, *, low: int, high: int,
                   default: str | None = None) -> int:
    """``metadata[field]`` as an integer written in decimal digits, from ``low`` to ``high``."""
    expected = f"an integer from {low} to {high}"
    text = _text_field(path, metadata, field, expected, default)
    if not re.fullmatch(r"[0-9]{1,20}", text) or not low <= int(text) <= high:
        raise _corrupt(path, field, expected, _shown(text))
    return int(text)


def _object_field(path: Path, metadata: dict[str, str], field: str,
                  default: str | None = None) -> dict[str, Any]:
    value = _json_field(path, metadata, field, "a JSON object", default)
    if not isinstance(value, dict):
        raise _corrupt(path, field, "a JSON object", f"a JSON {_json_type(value)}")
    return value


def _json_type(value: Any) -> str:
    names = {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}
    return names.get(type(value), "number")


def _read_header(path: Path) -> tuple[dict[str, Any], memoryview]:
    """The safetensors header of ``path`` as JSON, and the tensors' byte buffer after it."""
    if not path.is_file():
        raise DataError(f"{path}: no such model file")
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise DataError(f"{path}: cannot read the model file ({error.strerror or error})") from None
    not_model = f"{path}: is not a noloop model file"
    if len(raw) < 8:
        raise DataError(f"{not_model} (too short to hold a safetensors header)")
    (header_length,) = struct.unpack("<Q", raw[:8])
    if header_length > len(raw) - 8 or header_length > _MAX_HEADER_BYTES:
        raise DataError(f"{not_model} (no safetensors header; is it another kind of file?)")
    try:
        header = _parse_json(raw[8:8 + header_length].decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise DataError(f"{not_model} (its header is not valid JSON: corrupt or another format)") \
            from None
    if not isinstance(header, dict):
        raise DataError(f"{not_model} (its header is a JSON {_json_type(header)}, not an object)")
    return header, memoryview(raw)[8 + header_length:]


def _read_metadata(path: Path) -> tuple[dict[str, Any], memoryview, dict[str, str]]:
    """The header, the byte buffer and the noloop metadata of a model file noloop can read."""
    header, buffer = _read_header(path)
    metadata = header.get("__metadata__")
    if not isinstance(metadata, dict) or metadata.get("format") != MODEL_FORMAT:
        raise DataError(f"{path}: is not a noloop model file (a safetensors file without "
                        "noloop's metadata)")
    for field, value in metadata.items():
        if not isinstance(value, str):
            raise _corrupt(path, field, "a string (safetensors metadata holds strings)",
                           _shown(value))
    text = metadata.get("format_version", "")
    if re.fullmatch(r"[0-9]{1,20}", text) and int(text) > MODEL_FORMAT_VERSION:
        raise DataError(
            f"{path}: was written in model format {int(text)} by noloop "
            f"{metadata.get('noloop_version', '?')}; this noloop reads format "
            f"{MODEL_FORMAT_VERSION} and older: upgrade noloop"
        )
    _integer_field(path, metadata, "format_version", low=1, high=MODEL_FORMAT_VERSION)
    return header, buffer, metadata


def _tensor(path: Path, name: str, entry: Any, buffer: memoryview) -> np.ndarray:
    """The tensor ``name`` described by the header ``entry``, checked against the buffer."""
    if not isinstance(entry, dict) or set(entry) != {"dtype", "shape", "data_offsets"}:
        raise _corrupt(path, name, "a tensor entry with dtype, shape and data_offsets",
                       _shown(entry))
    dtype = _TENSOR_DTYPES.get(entry["dtype"]) if isinstance(entry["dtype"], str) else None
    if dtype is None:
        raise _corrupt(path, name, f"a tensor of dtype {' or '.join(_TENSOR_DTYPES)}",
                       f"dtype {_shown(entry['dtype'])}")
    shape, offsets = entry["shape"], entry["data_offsets"]
    ndim = _TENSOR_NDIM[name]
    if not (isinstance(shape, list) and len(shape) == ndim
            and all(type(size) is int and size >= 0 for size in shape)):
        raise _corrupt(path, name, f"a shape of {ndim} sizes >= 0", f"shape {_shown(shape)}")
    n_bytes = math.prod(shape) * dtype.itemsize
    if not (isinstance(offsets, list) and len(offsets) == 2
            and all(type(offset) is int for offset in offsets)
            and 0 <= offsets[0] and offsets[0] + n_bytes == offsets[1] <= len(buffer)):
        raise _corrupt(path, name, f"data_offsets [begin, begin + {n_bytes}] within the "
                       f"{len(buffer)} bytes of data", f"data_offsets {_shown(offsets)}")
    flat = np.frombuffer(buffer[offsets[0]:offsets[1]], dtype=dtype)
    return flat.reshape(shape).astype(dtype.newbyteorder("="), copy=True)


def _tensors(path: Path, header: dict[str, Any], buffer: memoryview) -> dict[str, np.ndarray]:
    names = set(header) - {"__metadata__"}
    if not _REQUIRED_TENSORS <= names <= set(_TENSOR_NDIM):
        raise _corrupt(path, "tensors", f"{', '.join(sorted(_REQUIRED_TENSORS))} and optionally "
                       "loss_history and covariance", _shown(sorted(names)))
    return {name: _tensor(path, name, header[name], buffer) for name in sorted(names)}


def _classes(path: Path, metadata: dict[str, str], n_outputs: int) -> np.ndarray:
    """The classes, exactly as the JSON list holds them, in the dtype the file names."""
    code = _text_field(path, metadata, "classes_dtype", "a NumPy dtype")
    if not _CLASS_DTYPE.fullmatch(code):
        raise _corrupt(path, "classes_dtype", "a NumPy dtype of bools, integers, floats or "
                       "strings such as '<i8' or '<U5'", _shown(code))
    dtype = np.dtype(code)
    n_classes = 2 if n_outputs == 1 else n_outputs
    expected = f"a JSON array of {n_classes} labels of type {dtype} (coef has {n_outputs} row(s))"
    values = _json_field(path, metadata, "classes", expected)
    kinds = _CLASS_TYPES[dtype.kind]
    if not (isinstance(values, list) and len(values) == n_classes
            and all(type(value) in kinds for value in values)):
        raise _corrupt(path, "classes", expected, _shown(metadata["classes"]))
    try:
        with np.errstate(all="ignore"):  # an overflow to inf is refused just below
            classes = np.array(values, dtype=dtype)
    except (OverflowError, ValueError):
        classes = None
    if classes is None or classes.tolist() != values:  # 1e10 as float16 is inf; 'yes' as <U1 is 'y'
        raise _corrupt(path, "classes", f"labels that {dtype} (`classes_dtype`) holds exactly",
                       _shown(metadata["classes"]))
    return classes


def _feature_names(path: Path, metadata: dict[str, str]) -> list[str] | None:
    expected = "a JSON array of strings (empty without names)"
    names = _json_field(path, metadata, "feature_names", expected)
    if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
        raise _corrupt(path, "feature_names", expected, _shown(metadata["feature_names"]))
    return names or None


def _class_weight_keys(class_weight: dict[str, Any], classes: np.ndarray) -> dict[Any, Any]:
    """JSON turned the class_weight keys into strings: give them back the classes' type."""
    labels = classes.tolist()

    def label_of(key: str) -> Any:
        for label in labels:
            if str(label) == key:
                return label
        if classes.dtype.kind in "iuf":  # 1 saved for the class 1.0, say
            with contextlib.suppress(ValueError):
                return next((label for label in labels if label == float(key)), key)
        return key

    return {label_of(key): weight for key, weight in class_weight.items()}


def _hyperparameters(path: Path, metadata: dict[str, str], classes: np.ndarray) -> dict[str, Any]:
    params = _object_field(path, metadata, "hyperparameters")
    if params.get("C") == "inf":  # how save_model writes C=np.inf
        params["C"] = math.inf
    class_weight = params.get("class_weight")
    if isinstance(class_weight, dict):
        if not all(type(weight) in (int, float) and 0 <= weight < math.inf
                   for weight in class_weight.values()):
            raise _corrupt(path, "hyperparameters", "class_weight values that are finite "
                           "numbers >= 0", _shown(class_weight))
        params["class_weight"] = _class_weight_keys(class_weight, classes)
    return params


def _converged(path: Path, metadata: dict[str, str]) -> bool:
    text = _text_field(path, metadata, "converged", "true or false", "false")
    if text not in ("true", "false"):
        raise _corrupt(path, "converged", "true or false", _shown(text))
    return text == "true"


def _read_model_file(path: Path) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """(params, state, metrics) as the file holds them, each field checked; DataError if not."""
    header, buffer, metadata = _read_metadata(path)
    tensors = _tensors(path, header, buffer)
    coef = tensors["coef"]
    n_features = _integer_field(path, metadata, "n_features", low=1, high=2**40)
    if coef.shape[1] != n_features:
        raise DataError(f"{path}: is a corrupt noloop model file (coef has {coef.shape[1]} "
                        f"feature column(s); the header says {n_features})")
    dtype = _text_field(path, metadata, "dtype", "float32 or float64")
    if dtype != str(coef.dtype):
        raise _corrupt(path, "dtype", f"{coef.dtype}, the dtype of coef", _shown(dtype))
    classes = _classes(path, metadata, coef.shape[0])
    state = {
        "classes": classes,
        "coef": coef,
        "intercept": tensors["intercept"],
        "feature_names": _feature_names(path, metadata),
        "n_iter": _integer_field(path, metadata, "n_iter", low=0, high=2**31 - 1, default="0"),
        "loss_history": tensors["loss_history"].tolist() if "loss_history" in tensors else [],
        "converged": _converged(path, metadata),
        "stop_reason": _text_field(path, metadata, "stop_reason", "a string", ""),
    }
    if "encoding" in metadata:
        from noloop.linear_model._categorical import TableEncoding

        try:
            description = _parse_json(metadata["encoding"])
            state["encoding"] = TableEncoding.from_metadata(
                description, {"impute": tensors.get("encoding.impute")})
        except ValueError as error:
            raise DataError(f"{path}: is a corrupt noloop model file ({error})") from None
    params = _hyperparameters(path, metadata, classes)
    return params, state, _object_field(path, metadata, "metrics", "{}")


def load_model(path: str | os.PathLike, *, with_metrics: bool = False) -> Any:
    """Load a model written by :func:`save_model`. No code in the file is ever run.

    Every field is checked before it is used: JSON types, dtypes, shapes and
    byte ranges of the tensors, finite weights, classes unique and sorted and
    held exactly by their dtype, a format version from 1 to this noloop's.

    Parameters
    ----------
    path : str or path-like
    with_metrics : bool, default=False
        Also return the training metrics stored beside the weights.

    Returns
    -------
    model : LogisticRegression
        Fitted, with the saved hyperparameters; it predicts as the saved
        model did and can be refitted.
    metrics : dict
        Only with ``with_metrics=True``: the ``metrics`` given to
        :func:`save_model` (empty when none were).

    Raises
    ------
    DataError
        When the file is missing, corrupt, not a noloop model, written by a
        newer noloop (an unknown format version), or holds a field that fails
        the estimator's checks: one error, naming the file and the field.
    """
    from noloop.linear_model import LogisticRegression

    path = Path(path)
    params, state, metrics = _read_model_file(path)
    try:
        model = LogisticRegression._from_fitted_state(params, state)
    except (ValueError, TypeError) as error:  # TypeError: a JSON array or object as a parameter
        raise DataError(f"{path}: is a corrupt noloop model file ({error})") from None
    return (model, metrics) if with_metrics else model


def read_model_metrics(path: str | os.PathLike) -> dict[str, Any]:
    """The training metrics stored in a model file, without loading the model.

    Parameters
    ----------
    path : str or path-like
        A file written by :func:`save_model`.

    Returns
    -------
    metrics : dict
        The ``metrics`` given to :func:`save_model`; empty when none were.
        ``noloop train`` stores one entry per split (``"train"``, and
        ``"test"`` with ``--test-size``), each with ``n_rows``, ``accuracy``
        and ``log_loss``.

    Raises
    ------
    DataError
        When the file is missing, not a noloop model, or its metrics are unreadable.
    """
    path = Path(path)
    _, _, metadata = _read_metadata(path)
    return _object_field(path, metadata, "metrics", "{}")


# ------------------------------------------------------------------ covariance


def _n_params(coef_shape: tuple[int, ...], fit_intercept: bool) -> int:
    """The number of identified parameters: n_dof for two classes, (K − 1) · n_dof for K > 2."""
    n_outputs, n_features = coef_shape
    n_dof = n_features + int(fit_intercept)
    return n_dof if n_outputs == 1 else (n_outputs - 1) * n_dof


def _checked_covariance(covariance: dict[str, Any], n_params: int
                        ) -> tuple[np.ndarray, dict[str, Any]]:
    """(float64 matrix, JSON-ready description) from ``save_model``'s ``covariance``; ValueError if unfit."""
    if not isinstance(covariance, dict) or not {"matrix", "cov_type", "n_samples"} <= set(covariance):
        raise ValueError("`covariance` must be a dict with 'matrix', 'cov_type' and 'n_samples'; "
                         f"got {_shown(covariance)}")
    matrix = np.asarray(covariance["matrix"], dtype=np.float64)
    if matrix.shape != (n_params, n_params) or not np.isfinite(matrix).all():
        raise ValueError(f"`covariance['matrix']` must be a finite ({n_params}, {n_params}) matrix "
                         f"for this model; got shape {matrix.shape}")
    cov_type, n_samples = covariance["cov_type"], covariance["n_samples"]
    if cov_type not in COVARIANCE_TYPES:
        raise ValueError(f"`covariance['cov_type']` must be one of {list(COVARIANCE_TYPES)}; "
                         f"got {cov_type!r}")
    if isinstance(n_samples, bool) or not isinstance(n_samples, (int, np.integer)) \
            or n_samples < 1:
        raise ValueError(f"`covariance['n_samples']` must be a positive integer; got {n_samples!r}")
    return matrix, {"cov_type": cov_type, "n_samples": int(n_samples)}


def read_model_covariance(path: str | os.PathLike) -> dict[str, Any] | None:
    """The covariance a model file keeps (``noloop train --summary`` stores it), or None.

    Parameters
    ----------
    path : str or path-like
        A file written by :func:`save_model`.

    Returns
    -------
    covariance : dict or None
        ``{"matrix": ndarray of shape (n_params, n_params), "cov_type": str,
        "n_samples": int}``; None for a file saved without one (every file
        written before covariances were kept).

    Raises
    ------
    DataError
        When the file is missing, not a noloop model, or its covariance is corrupt.
    """
    path = Path(path)
    params, state, _ = _read_model_file(path)
    header, buffer, metadata = _read_metadata(path)
    if "covariance" not in header:
        if "covariance" in metadata:
            raise _corrupt(path, "covariance", "a covariance tensor beside its description",
                           "no covariance tensor")
        return None
    matrix = _tensor(path, "covariance", header["covariance"], buffer)
    info = _object_field(path, metadata, "covariance")
    n_params = _n_params(state["coef"].shape, bool(params.get("fit_intercept", True)))
    try:
        matrix, info = _checked_covariance({"matrix": matrix, **info}, n_params)
    except ValueError as error:
        raise DataError(f"{path}: is a corrupt noloop model file (field `covariance`: "
                        f"{error})") from None
    return {"matrix": matrix, **info}
