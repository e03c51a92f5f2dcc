"""Validate what a submission returned before any comparison looks at its values.

A returned value must be exactly what the contract says: a plain float64 ``numpy.ndarray`` of the
exact shape (a ``db`` of shape (1, H) where (H,) is due is wrong, even though broadcasting would
hide it), finite; or a float; or a tuple or dict of those. Anything else raises
``ContractViolation`` with a sentence a student can act on.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from checks.engine.isolation.protocol import Foreign, Handle


class ContractViolation(AssertionError):
    """A returned value has the wrong type, dtype, shape, or is not finite."""


def kind_of(value: Any) -> str:
    """Describe a decoded value the way a student would recognise it."""
    if isinstance(value, Foreign):
        return value.description
    if isinstance(value, np.ndarray):
        return f"an array of dtype {value.dtype} and shape {value.shape}"
    if isinstance(value, Handle):
        return "a cache object"
    if isinstance(value, np.generic):
        return f"a NumPy scalar of type {type(value).__name__} (not an array; 0-d results need np.asarray)"
    return f"a {type(value).__name__}"


def expect_array(
    value: Any, shape: tuple[int, ...], name: str, dims: str, allow_unit_axes: bool = False
) -> np.ndarray:
    """Check ``value`` is a finite float64 ndarray of exactly ``shape``; return it.

    ``name`` says what it is ("dWh returned by rnn_backward"), ``dims`` the symbolic shape
    ("(H, H)"), so the message reads "... has shape (1, 3); the contract says (H,) = (3,)".
    ``allow_unit_axes``: a shape that differs only by axes of length 1 (keepdims) is reshaped to
    ``shape`` instead, so its values can be judged (the policy's ``shape_mistakes``).
    """
    if type(value) is not np.ndarray:
        hint = " (convert with np.asarray)" if isinstance(value, (list, tuple)) else ""
        raise ContractViolation(f"{name} must be a float64 numpy array, but is {kind_of(value)}{hint}")
    if value.dtype != np.float64:
        raise ContractViolation(f"{name} has dtype {value.dtype}; the contract says float64")
    if value.shape != tuple(shape) and allow_unit_axes and differs_by_unit_axes(value.shape, tuple(shape)):
        value = value.reshape(shape)
    if value.shape != tuple(shape):
        raise ContractViolation(f"{name} has shape {value.shape}; the contract says {dims} = {tuple(shape)}")
    if not np.all(np.isfinite(value)):
        raise ContractViolation(f"{name} contains NaN or inf")
    return value


def expect_indices(value: Any, shape: tuple[int, ...], count: int, name: str, dims: str) -> np.ndarray:
    """Check ``value`` is an integer ndarray of exactly ``shape`` whose entries are indices 0 … count − 1."""
    if type(value) is not np.ndarray:
        raise ContractViolation(f"{name} must be an integer numpy array, but is {kind_of(value)}")
    if value.dtype.kind not in "iu":
        raise ContractViolation(f"{name} has dtype {value.dtype}; the contract says an integer dtype (int32)")
    if value.shape != tuple(shape):
        raise ContractViolation(f"{name} has shape {value.shape}; the contract says {dims} = {tuple(shape)}")
    if value.size and (value.min() < 0 or value.max() >= count):
        raise ContractViolation(f"{name} holds {int(value.min() if value.min() < 0 else value.max())}, "
                                f"which is not a word index 0 … {count - 1}")
    return value


def differs_by_unit_axes(shape: tuple[int, ...], expected: tuple[int, ...]) -> bool:
    """True if the two shapes are equal once their axes of length 1 are dropped: (1, H) and (H,)."""
    return tuple(n for n in shape if n != 1) == tuple(n for n in expected if n != 1)


def expect_float(value: Any, name: str) -> float:
    """Check ``value`` is a finite real number (float, np.float64, or a 0-d float64 array)."""
    if type(value) is np.ndarray and value.shape == () and value.dtype == np.float64:
        value = value[()]
    if type(value) not in (float, np.float64):
        raise ContractViolation(f"{name} must be a float, but is {kind_of(value)}")
    if not np.isfinite(value):
        raise ContractViolation(f"{name} is {value}; it must be finite")
    return float(value)


def expect_tuple(value: Any, names: tuple[str, ...], function: str) -> tuple:
    """Check ``value`` is a tuple (or list) of ``len(names)`` items, as in ``(dx, dh0, ...)``."""
    if type(value) not in (tuple, list) or len(value) != len(names):
        raise ContractViolation(
            f"{function} must return a tuple ({', '.join(names)}), but returned {kind_of(value)}"
            + (f" of length {len(value)}" if type(value) in (tuple, list) else "")
        )
    return tuple(value)


def expect_dict(value: Any, keys: set[str] | None, name: str) -> dict:
    """Check ``value`` is a dict (with exactly ``keys`` when given)."""
    if type(value) is not dict:
        raise ContractViolation(f"{name} must be a dict, but is {kind_of(value)}")
    if keys is not None and set(value) != set(keys):
        missing, extra = sorted(set(keys) - set(value)), sorted(set(value) - set(keys))
        raise ContractViolation(f"{name} has keys {sorted(value)}; missing {missing}, unexpected {extra}")
    return value
