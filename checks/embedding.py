"""embedding: a word embedding is a table lookup, and its gradient adds up over repeated words.

Row-vector convention, as CS231n: x (N, T) word indices into a vocabulary of V words, W (V, D)
one word vector per row,

    out[n, t] = W[x[n, t]]                                   (N, T, D)
    dW[v]     = Σ_{(n, t) : x[n, t] = v} dout[n, t]          (V, D)

A word that occurs k times receives all k upstream gradients (``np.add.at``); ``dW[x] += dout``
keeps only one of them (buffered fancy indexing writes a repeated row once). Every example the
problems strategy draws repeats a word (``checks.embedding_problems``), so that mistake never
goes unseen. x is an integer: finite differences never move it and it has no gradient.
"""

from __future__ import annotations

import numpy as np
from hypothesis import example, given

from checks.embedding_problems import EmbeddingProblem, embedding_problems
from checks.gradcheck import assert_backprop_matches_own_forward, probe_seeds
from checks.hygiene import Probe, examine, unchanged, unchanged_by_backward
from checks.engine.isolation.batch_calls import Call, forward_then_backward
from checks.registry import check
from checks.verdicts import assert_all_close

FORWARD, BACKWARD = "word_embedding_forward", "word_embedding_backward"
FUNCTIONS = (FORWARD, BACKWARD)
# The hygiene check's parts, in the order of its probes: inputs unchanged, then exact shapes at size one.
HYGIENE_PARTS = ((FORWARD,), (FORWARD, BACKWARD), (FORWARD,), (FORWARD, BACKWARD))
# Fractions of the profile's examples (default 50). Every bug these checks target shows on any example
# with probability 1 (every problem repeats a word; finite differences along a random direction; values
# off by O(1)), so a few examples lose no power and keep the group's grade fast; finite differences,
# the most informative, keep the most.
FEW, FEWEST = 0.4, 0.2
# N = T = D = 1 with V = 2: the one word is row 1, so reading row 0 (or W itself, squeezed) shows.
ONE_WORD = EmbeddingProblem(np.ones((1, 1), dtype=np.int64), np.array([[0.25], [-0.75]]), np.array([[[0.5]]]))


def lookup_mismatch(out: np.ndarray, x: np.ndarray, W: np.ndarray) -> str | None:
    """None if out (N, T, D) is exactly W[x], else where the first wrong entry is and what it should be."""
    expected = W[x]
    if np.array_equal(out, expected):
        return None
    n, t, d = (int(i) for i in np.argwhere(out != expected)[0])
    return (f"word_embedding_forward's out[{n}, {t}, {d}] is {float(out[n, t, d])!r}, but it must be "
            f"W[x[{n}, {t}], {d}] = W[{int(x[n, t])}, {d}] = {float(expected[n, t, d])!r} exactly (out[n, t] "
            "is a copy of row x[n, t] of W)")


@check(group="embedding", points=2, needs=FUNCTIONS, examples=FEW)
@given(p=embedding_problems(), seed=probe_seeds())
def embedding_backward_matches_finite_differences(sub, p, seed):
    """word_embedding_backward's dW equals central differences of your own word_embedding_forward
    (L = Σ out·dout)."""
    assert_backprop_matches_own_forward(sub, FORWARD, BACKWARD, {"x": p.x, "W": p.W}, p.dout, seed, ("dW",),
                                        constants=("x",))


@check(group="embedding", points=2, needs=FUNCTIONS, examples=FEWEST)
@given(p=embedding_problems())
def repeated_words_add_their_gradients(sub, p):
    """A word that occurs k times in x gets the sum of its k upstream gradients in dW.

    Only the rows of repeated words are judged here: dW[v] = Σ dout[n, t] over every (n, t) with
    x[n, t] = v, the definition (computed here, no reference needed).
    """
    _, (dW,) = sub.forward_and_backward(FORWARD, (p.x, p.W), BACKWARD, p.dout)
    words, counts = np.unique(p.x, return_counts=True)
    repeated = words[counts > 1]
    expected = {f"dW[{v}]": p.dout[p.x == v].sum(axis=0) for v in repeated}
    actual = {f"dW[{v}]": dW[v] for v in repeated}
    assert_all_close(actual, expected, "the sum of the upstream gradients dout[n, t] of every position (n, t) "
                     "where the word occurs", note=lambda: keeps_one_note(dW, p, repeated))


def keeps_one_note(dW: np.ndarray, p, repeated: np.ndarray) -> str:
    """Why a repeated word's row is wrong, when it holds the gradient of one occurrence only."""
    for v in repeated:
        rows = p.dout[p.x == v]
        if any(np.allclose(dW[v], row, rtol=1e-12, atol=0) for row in rows):
            return (f"Word {v} occurs {len(rows)} times in x, and your dW[{v}] is the gradient of one occurrence "
                    "only: a repeated word must collect every one of its gradients (dW[x] += dout writes a "
                    "repeated row once; np.add.at(dW, x, dout) adds them all).")
    return (f"Words {', '.join(map(str, repeated))} occur more than once in x; each row dW[v] must add up the "
            "gradients of all of v's positions.")


@check(group="embedding", points=2, needs=(FORWARD,), examples=FEWEST)
@given(p=embedding_problems())
@example(p=ONE_WORD)
def embedding_forward_is_a_lookup(sub, p):
    """word_embedding_forward returns out[n, t] = W[x[n, t]], row x[n, t] of W exactly."""
    out, _ = sub.word_embedding_forward(p.x, p.W)
    problem = lookup_mismatch(out, p.x, p.W)
    assert problem is None, problem


@check(group="embedding", points=1, needs=FUNCTIONS, reference=True, examples=FEWEST)
@given(p=embedding_problems())
def embedding_backward_matches_reference(sub, p):
    """word_embedding_backward returns the reference's dW, for upstream gradients of every word vector."""
    import reference

    _, (dW,) = sub.forward_and_backward(FORWARD, (p.x, p.W), BACKWARD, p.dout)
    _, reference_cache = reference.word_embedding_forward(p.x, p.W)
    assert_all_close({"dW": dW}, {"dW": reference.word_embedding_backward(p.dout, reference_cache)},
                     "the reference")


@check(group="embedding", points=1, needs=FUNCTIONS, needs_any=True, parts=HYGIENE_PARTS,
       examples=FEWEST)
@given(p=embedding_problems(), one=embedding_problems(max_n=1, max_t=1, max_v=2, max_d=1, repeated=False))
def embedding_leaves_inputs_unchanged_and_shapes_exact(sub, p, one):
    """word_embedding_forward/backward never modify their arguments, and at N = T = D = 1 still return
    float64 arrays of exactly the shapes (N, T, D) and (V, D)."""
    args, one_args = (p.x, p.W), (one.x, one.W)
    with sub.exact_shapes():  # validated on return with exact shapes: a (1, 1, 1) must not be a (1,)
        examine(sub, [
            unchanged(FORWARD, ("x", "W"), args),
            unchanged_by_backward(FORWARD, args, BACKWARD, p.dout, "dout"),
            Probe((Call(FORWARD, one_args),)),
            Probe(tuple(forward_then_backward(FORWARD, one_args, BACKWARD, one.dout))),
        ])
