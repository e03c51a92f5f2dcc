"""The calculus identities the gradient checks rely on, derived and proved by SymPy.

Backward passes (the reference's and the students') never differentiate tanh or the
cross-entropy symbolically; they use two closed forms:

    d/dz tanh(z)                = 1 - tanh(z)**2     (so tanh' is computed from h_t)
    d/dz [softplus(z) - y·z]    = sigmoid(z) - y     (the logit gradient of BCE)

and the SymPy classifier oracle writes its loss with a third:

    softplus(-z)                = softplus(z) - z

Each function below derives one of them from first principles — tanh, softplus and
sigmoid written with exp and log only — proves it by simplifying the difference to 0,
and raises AssertionError if the proof fails (explicit raises, not ``assert``, so that
``python -O`` still checks). Results are cached: each proof runs once per process.

The ``*_text`` functions render the proved identities for failure messages, printed
from the SymPy expressions rather than typed in, so a message can only state what was
proved.
"""

from __future__ import annotations

import functools

import sympy as sp

z = sp.Symbol("z", real=True)
y = sp.Symbol("y", real=True)


class softplus(sp.Function):
    """softplus(u) = log(1 + exp(u)); a named function so that statements print
    readably. ``.rewrite(sp.exp)`` gives the definition used in the proofs."""

    def _eval_rewrite_as_exp(self, u, **kwargs):
        return sp.log(1 + sp.exp(u))


class sigmoid(sp.Function):
    """sigmoid(u) = 1 / (1 + exp(-u)); ``.rewrite(sp.exp)`` gives the definition."""

    def _eval_rewrite_as_exp(self, u, **kwargs):
        return 1 / (1 + sp.exp(-u))


def _prove_equal(lhs: sp.Expr, rhs: sp.Expr, statement: str) -> None:
    """Raise AssertionError unless lhs - rhs simplifies to exactly 0."""
    difference = sp.simplify(lhs - rhs)
    if difference != 0:
        raise AssertionError(f"SymPy could not prove {statement}: difference {difference}")


@functools.lru_cache(maxsize=None)
def tanh_derivative() -> sp.Expr:
    """d/dz tanh(z), as SymPy states it: 1 - tanh(z)**2.

    Proved against the definition tanh(z) = (e^z - e^-z) / (e^z + e^-z): the derivative
    of that quotient, computed by sympy.diff, simplifies to 1 - (quotient)**2. So the
    result does not rest on SymPy's table of derivatives alone.

    Returns:
    - The derivative, a SymPy expression in the symbol z (``identities.z``)
    """
    derivative = sp.diff(sp.tanh(z), z)
    tanh_def = sp.tanh(z).rewrite(sp.exp)
    _prove_equal(sp.diff(tanh_def, z), derivative.subs(sp.tanh(z), tanh_def),
                 "d/dz tanh(z) from the exp definition")
    _prove_equal(derivative, 1 - sp.tanh(z) ** 2, "d/dz tanh(z) = 1 - tanh(z)**2")
    return derivative


@functools.lru_cache(maxsize=None)
def bce_logit_derivative() -> sp.Expr:
    """d/dz [softplus(z) - y·z] = sigmoid(z) - y, the gradient of the binary
    cross-entropy of sigmoid(z) with respect to the logit z.

    The derivative is computed by sympy.diff from softplus(z) = log(1 + e^z) and proved
    equal to 1/(1 + e^-z) - y.

    Returns:
    - sigmoid(z) - y, a SymPy expression in the symbols z and y, with ``sigmoid`` the
      named function of this module (``.rewrite(sympy.exp)`` expands it)
    """
    loss = bce_logit_loss()
    derivative = sp.diff(loss.rewrite(sp.exp), z)
    claimed = sigmoid(z) - y
    _prove_equal(derivative, claimed.rewrite(sp.exp), "d/dz [softplus(z) - y*z] = sigmoid(z) - y")
    return claimed


def bce_logit_loss() -> sp.Expr:
    """softplus(z) - y·z: the binary cross-entropy of sigmoid(z) against a label y, as a
    function of the logit z (the contract's per-example classifier loss)."""
    return softplus(z) - y * z


@functools.lru_cache(maxsize=None)
def softplus_reflection() -> sp.Expr:
    """softplus(-z) = softplus(z) - z, for every real z.

    This is why y·softplus(-z) + (1 - y)·softplus(z) equals softplus(z) - y·z for every
    y: the reference classifier and the SymPy oracle use the left form. Proof: the
    difference of the two sides has derivative 0 (simplified by SymPy) and is 0 at
    z = 0, so it is 0 everywhere on the real line.

    Returns:
    - softplus(z) - z, the right-hand side
    """
    lhs, rhs = softplus(-z), softplus(z) - z
    difference = (lhs - rhs).rewrite(sp.exp)
    _prove_equal(sp.diff(difference, z), sp.Integer(0), "d/dz [softplus(-z) - softplus(z) + z] = 0")
    _prove_equal(difference.subs(z, 0), sp.Integer(0), "softplus(0) - softplus(0) + 0 = 0")
    return rhs


def _printed(expr: sp.Expr) -> str:
    """expr as text; rev-lex order prints sums the way they are written by hand
    (sigmoid(z) - y, not -y + sigmoid(z))."""
    return sp.sstr(expr, order="rev-lex")


@functools.lru_cache(maxsize=None)
def tanh_identity_text() -> str:
    """'d/dz tanh(z) = 1 - tanh(z)**2', printed from the proved SymPy result."""
    return f"d/dz {_printed(sp.tanh(z))} = {_printed(tanh_derivative())}"


@functools.lru_cache(maxsize=None)
def bce_logit_identity_text() -> str:
    """'d/dz [softplus(z) - y*z] = sigmoid(z) - y', printed from the proved SymPy result."""
    return f"d/dz [{_printed(bce_logit_loss())}] = {_printed(bce_logit_derivative())}"


@functools.lru_cache(maxsize=None)
def softplus_reflection_text() -> str:
    """'softplus(-z) = softplus(z) - z', printed from the proved SymPy result."""
    return f"{_printed(softplus(-z))} = {_printed(softplus_reflection())}"


def __getattr__(name: str) -> str:
    """TANH_IDENTITY_TEXT, BCE_LOGIT_IDENTITY_TEXT, SOFTPLUS_REFLECTION_TEXT as module
    constants, computed (and proved) on first access rather than at import."""
    texts = {
        "TANH_IDENTITY_TEXT": tanh_identity_text,
        "BCE_LOGIT_IDENTITY_TEXT": bce_logit_identity_text,
        "SOFTPLUS_REFLECTION_TEXT": softplus_reflection_text,
    }
    if name in texts:
        return texts[name]()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
