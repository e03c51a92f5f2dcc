"""Fixed problems every relevant check also runs, whatever Hypothesis draws.

Real submissions break exactly at the edges: ``np.squeeze`` or ``dh[:, T]`` at N = D = H = T = 1,
and ``t is T - 1`` past T = 256 (CPython caches small ints only up to 256). These problems are
made from fixed seeds, so they are the same on every run.
"""

from __future__ import annotations

from checks.strategies import Dims, rnn_problem_from_seed

DEGENERATE = rnn_problem_from_seed(Dims(N=1, T=1, D=1, H=1), seed=1)
LONG = rnn_problem_from_seed(Dims(N=2, T=300, D=3, H=2), seed=2)
