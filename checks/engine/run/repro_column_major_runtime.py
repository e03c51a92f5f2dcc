'''The fixed parts of a dlai-c5w1 reproduction script (``checks.engine.run.repro_column_major``), as text.

RUNTIME is the script's code (its header, with the tolerances and the course's helpers, is
``repro_column_major.HEADER``): loading the submission (``repro_runtime.LOADING``, shared by every script: a .py
file, a folder, or a notebook read as rnn-grade reads it) with the course's helpers, calling the student's
column-major functions with the grader's validation, and one function per kind of check. RUNTIME is not
formatted. The scripts need only numpy (and, for a notebook, rnn-grade's notebook reader). The known wrong
derivatives (WRONG_TANH, WRONG_SIGMOID) are ``checks.dlai_gradients``' own, written out (tests/test_repro_dlai.py
holds them equal).
'''

from checks.engine.run.repro_runtime import CALLING, LOADING

RUNTIME = '''

class Failure(Exception):
    """The property does not hold: the message says why."""


def array(dtype, shape, chunks):
    """An array rebuilt exactly from base64 of its bytes."""
    return np.frombuffer(base64.b64decode("".join(chunks)), dtype=dtype).reshape(shape).copy()


def install_helpers(folder):
    """Make `from rnn_utils import *` work: your own rnn_utils.py beside your file if there is one, else the
    course's, embedded above (so that the script needs nothing but numpy)."""
    sys.path.insert(0, str(folder))
    try:
        import rnn_utils  # noqa: F401
    except ImportError:
        module = types.ModuleType("rnn_utils")
        exec(compile(RNN_UTILS, "rnn_utils.py", "exec"), vars(module))
        sys.modules["rnn_utils"] = module


''' + LOADING + '''


''' + CALLING + '''


def sizes_of(forward, arguments):
    """The course's letters of a forward call: n_x and m from x (or xt), n_a from a_prev (or a0), n_y from Wya or Wy."""
    x, a, parameters = list(arguments.values())[0], list(arguments.values())[1], arguments["parameters"]
    sizes = {"n_x": x.shape[0], "m": x.shape[1], "n_a": a.shape[0], "1": 1, "n_a+n_x": a.shape[0] + x.shape[0],
             "n_y": parameters["Wya" if forward.startswith("rnn") else "Wy"].shape[0]}
    if x.ndim == 3:
        sizes["T_x"] = x.shape[2]
    return sizes


def checked(value, spec, sizes, where, exact, label=None):
    """A returned array: float64, finite, of the spec's shape (with `exact` False, one differing only by axes of
    length 1 is reshaped, as the grader judges it by value elsewhere); else Failure."""
    name, letters = spec.split(":")[0], spec.split(":")[1].split()
    shape, dims = tuple(sizes[k] for k in letters), "(" + ", ".join(letters) + ")"
    label = f"{label or name} returned by {where}"
    if type(value) is not np.ndarray:
        raise Failure(f"{label} must be a float64 numpy array, but is a {type(value).__name__}")
    if value.dtype != np.float64:
        raise Failure(f"{label} has dtype {value.dtype}; the course's functions return float64")
    if value.shape != shape and not exact and [n for n in value.shape if n != 1] == [n for n in shape if n != 1]:
        value = value.reshape(shape)
    if value.shape != shape:
        raise Failure(f"{label} has shape {value.shape}; the contract says {dims} = {shape}")
    if not np.all(np.isfinite(value)):
        raise Failure(f"{label} contains NaN or inf")
    return value


def forward(module, name, arguments, exact=False):
    """Your forward `name` on fresh copies of `arguments`: {output name: array} checked, and the cache as "cache"."""
    copies = {k: ({kk: vv.copy() for kk, vv in v.items()} if isinstance(v, dict) else v.copy())
              for k, v in arguments.items()}
    result = limited(getattr(module, name), *copies.values())
    specs = FORWARD_RETURNS[name]
    if type(result) is not tuple or len(result) != len(specs):
        raise Failure(f"{name} must return the tuple ({', '.join(s.split(':')[0] for s in specs)})")
    sizes, outputs = sizes_of(name, arguments), {}
    for spec, item in zip(specs, result):
        if spec.startswith("cache"):  # a step's cache, or a sequence's caches: handed to your backward as it is
            outputs["cache"] = item
        else:
            outputs[spec.split(":")[0]] = checked(item, spec, sizes, name, exact)
    return outputs


def backward(module, name, upstream, cache, sizes, exact=False):
    """Your backward `name` on (upstream..., cache): its gradient dict, with exactly the course's keys, checked."""
    result = limited(getattr(module, name), *(u.copy() for u in upstream), cache)
    keys = [spec.split(":")[0] for spec in GRADIENTS[name]]
    if not isinstance(result, dict) or set(result) != set(keys):
        found = sorted(result) if isinstance(result, dict) else type(result).__name__
        raise Failure(f"{name} must return a dict with the keys {keys}, but returned {found}")
    return {spec.split(":")[0]: checked(result[spec.split(":")[0]], spec, sizes, name, exact,
                                        f"gradients[{spec.split(':')[0]!r}]") for spec in GRADIENTS[name]}


def gradients_of(module, case, exact=False):
    """Your forward's outputs, and your backward's gradients on its own cache."""
    outputs = forward(module, case["forward"], case["arguments"], exact)
    sizes = sizes_of(case["forward"], case["arguments"])
    return outputs, backward(module, case["function"], case["upstream"], outputs["cache"], sizes, exact)


def named(gradients):
    """A gradient dict with its keys as you read them: gradients['dWax']."""
    return {f"gradients[{key!r}]": value for key, value in gradients.items()}


def compare(got, expected, against, note=None):
    """Every entry of `got` equals `expected`'s (the grader's tolerance); else Failure listing each one."""
    wrong = {name: text for name in expected if (text := mismatch(got[name], expected[name]))}
    if wrong:
        lines = [f"compared with {against}:"] + [f"  {name}: WRONG: {text}" for name, text in wrong.items()]
        right = [name for name in expected if name not in wrong]
        lines += [f"  correct: {', '.join(right)}"] if right else []
        raise Failure("\\n".join(lines + ([note] if note else [])))


def softmax_columns(z):
    e = np.exp(z - z.max(axis=0, keepdims=True))
    return e / e.sum(axis=0, keepdims=True)


def sigmoid(z):
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1 / (1 + e), e / (1 + e))


def stacked(arguments):
    """[a_prev; xt] (n_a + n_x, m): what every LSTM gate reads."""
    return np.concatenate([arguments["a_prev"], arguments["xt"]], axis=0)


# -- the properties ---------------------------------------------------------------------------------------------


def check_reference(module, case):
    """Your outputs (or gradients, on your own forward's cache) equal the reference's, embedded."""
    if case["function"] == case["forward"]:
        got = forward(module, case["forward"], case["arguments"])
    else:
        got = gradients_of(module, case)[1]
    mistake = case.get("mistake")
    same = mistake is not None and all(mismatch(got[k], mistake[k]) is None for k in mistake)
    expected = case["expected"]
    if case["function"] != case["forward"]:  # a gradient dict, its keys named as you read them
        got, expected = named(got), named(expected)
    compare(got, expected, "the reference", case["mistake_note"] if same else None)


def check_shapes(module, case):
    """Every array returned is float64 of exactly its shape (a bias gradient (n_a, 1): np.sum with keepdims)."""
    if case["function"] == case["forward"]:
        forward(module, case["forward"], case["arguments"], exact=True)
    else:
        gradients_of(module, case, exact=True)


def check_softmax(module, case):
    """yt_pred is softmax(W·a_next + by) over axis 0, from your own a_next."""
    out, p = forward(module, case["forward"], case["arguments"]), case["arguments"]["parameters"]
    y = out["yt_pred"]
    expected = softmax_columns(p["Wya" if case["cell"] == "rnn" else "Wy"] @ out["a_next"] + p["by"])
    note = "Each column of y must sum to 1: the softmax normalises over axis 0, the n_y outputs of one example."
    if mismatch(y.sum(axis=0), np.ones(y.shape[1])) is None:
        note = "Its columns sum to 1, but the values are not the softmax of your own W·a_next + by."
    elif mismatch(y.sum(axis=1), np.ones(y.shape[0])) is None:
        note = ("Each row sums to 1 instead of each column: the softmax must normalise over axis 0 (the n_y "
                "outputs of one example), not over the examples.")
    compare({"yt_pred": y}, {"yt_pred": expected}, "softmax(W·a_next + by) over each column, from your own a_next",
            note)


def check_hold(module, case):
    """With ft = 1 and it = 0 (bf = +100, bi = -100), c_next = c_prev and a_next = ot ⊙ tanh(c_prev)."""
    args = case["arguments"]
    p, c_prev = args["parameters"], args["c_prev"]
    out = forward(module, case["forward"], args)
    cct = np.tanh(p["Wc"] @ stacked(args) + p["bc"])
    note = "With ft = 1 and it = 0, c_next = ft ⊙ c_prev + it ⊙ cct must be c_prev."
    if mismatch(out["c_next"], cct) is None:
        note = ("Your c_next is cct, the candidate: the gates act as if ft = 0 and it = 1. Check that the forget "
                "gate (Wf, bf) multiplies c_prev and the input gate (Wi, bi) multiplies cct, not the other way round.")
    compare({"c_next": out["c_next"]}, {"c_next": c_prev}, "c_prev, kept by the gates (ft = 1, it = 0)", note)
    ot = sigmoid(p["Wo"] @ stacked(args) + p["bo"])
    compare({"a_next": out["a_next"]}, {"a_next": ot * np.tanh(c_prev)}, "ot ⊙ tanh(c_prev) (ft = 1, it = 0)")


def check_composed(module, case):
    """Your sequence forward is your own cell applied step after step, from a0 (and c0 = 0)."""
    args, lstm = case["arguments"], case["cell"] == "lstm"
    got = forward(module, case["forward"], args)
    cell, names = ("lstm_cell_forward", ("a", "y", "c")) if lstm else ("rnn_cell_forward", ("a", "y_pred"))
    a_t, c_t, steps = args["a0"], np.zeros_like(args["a0"]), []
    for t in range(args["x"].shape[2]):
        step = {"xt": args["x"][:, :, t], "a_prev": a_t, **({"c_prev": c_t} if lstm else {}),
                "parameters": args["parameters"]}
        out = forward(module, cell, step)
        a_t, c_t = out["a_next"], out.get("c_next")
        steps.append((out["a_next"], out["yt_pred"], c_t))
    composed = {name: np.stack([s[k] for s in steps], axis=2) for k, name in enumerate(names)}
    note = None
    if lstm:
        first = next((t for t in range(len(steps)) if mismatch(got["c"][:, :, t], composed["c"][:, :, t])), None)
        if first == 0:
            note = "Already c at the first step is wrong: the cell state starts at c0 = np.zeros((n_a, m)), not a0."
        elif first is not None:
            note = (f"c is correct up to step {first} and wrong at step {first + 1}: pass each step's a_next and "
                    "c_next to the next.")
    compare({name: got[name] for name in names}, composed, f"your own {cell} applied at every step", note)


def objective(outputs, upstream):
    """L = sum_k <output_k, upstream_k> over the differentiated outputs, and sum |terms| (its rounding's scale)."""
    terms = [out * up for out, up in zip(outputs, upstream)]
    return sum(float(np.sum(t)) for t in terms), sum(float(np.sum(np.abs(t))) for t in terms)


def moved_arguments(case, flat):
    """The forward's arguments with the moved arrays (flat: by name, parameters' entries too) replaced."""
    args = {k: v for k, v in case["arguments"].items()}
    args["parameters"] = {**args["parameters"], **{k: v for k, v in flat.items() if k in args["parameters"]}}
    return {**args, **{k: v for k, v in flat.items() if k in args and k != "parameters"}}


def directional(module, case, flat, gradients, direction):
    """(your backward's <g, v>, the central difference of your forward along v, the error allowed), as the grader."""
    sides = []
    for sign in (1, -1):
        moved = {name: value + sign * (FD_EPS * direction[name]) if name in direction else value
                 for name, value in flat.items()}
        out = forward(module, case["forward"], moved_arguments(case, moved))
        sides.append(objective([out[n] for n in DIFFERENTIATED[case["forward"]]], case["upstream"]))
    (plus, size_plus), (minus, size_minus) = sides
    fd = (plus - minus) / (2.0 * FD_EPS)
    bp = sum(float(np.sum(gradients["d" + name] * v)) for name, v in direction.items())
    rounding = sum(float(np.sum(np.abs(gradients["d" + name] * flat[name]) * (v != 0)))
                   for name, v in direction.items())
    return bp, fd, FD_RTOL * (abs(fd) + abs(bp)) + FD_ATOL * (1 + max(size_plus, size_minus) + rounding)


def check_finite_differences(module, case):
    """Your backward's gradients equal central differences of your own forward along the check's direction."""
    gradients = gradients_of(module, case)[1]
    direction = case["direction"]
    flat = {name: case["arguments"].get(name, case["arguments"]["parameters"].get(name)) for name in direction}
    bp, fd, allowed = directional(module, case, flat, gradients, direction)
    print(f"along the example's random direction v: <gradients, v> = {bp:.9g}, central difference = {fd:.9g}")
    if abs(fd - bp) <= allowed:
        return
    lines = ["your gradients are wrong, compared with finite differences of your own forward pass:"]
    for name in direction:  # each input alone: which gradients are wrong
        bp, fd, allowed = directional(module, case, flat, gradients, {name: direction[name]})
        verdict = "correct" if abs(fd - bp) <= allowed else "WRONG"
        lines.append(f"  gradients['d{name}']: {verdict}: along v, {bp:.9g}; finite differences {fd:.9g}")
    raise Failure("\\n".join(lines))


WRONG_TANH = (("1 − z² of the pre-activation z: tanh′(z) = 1 − tanh²(z) is 1 minus the square of the tanh's "
               "output, not of its input", lambda out, z: 1 - z**2),
              ("tanh′ taken of the tanh's output instead of its pre-activation (1 − tanh²(tanh(z)))",
               lambda out, z: 1 - np.tanh(out)**2),
              ("no tanh′ factor at all (the gradient passed through the tanh unchanged)",
               lambda out, z: np.ones_like(out)))
WRONG_SIGMOID = (("σ′ written as σ² (g ⊙ g)", lambda g, z: g**2),
                 ("σ′ = σ(1 − σ) applied twice ((g(1 − g))²)", lambda g, z: (g * (1 - g))**2),
                 ("σ′ taken of the gate's value instead of its pre-activation (σ(g)(1 − σ(g)))",
                  lambda g, z: sigmoid(g) * (1 - sigmoid(g))),
                 ("no σ′ factor at all (the gradient passed through the σ unchanged)", lambda g, z: np.ones_like(g)))


def rnn_identity(args, a_next, da_next, factor=None):
    """rnn_cell_backward's gradients with dz = (1 − a_next²) ⊙ da_next (or another factor)."""
    p, xt, a_prev = args["parameters"], args["xt"], args["a_prev"]
    dz = (1 - a_next**2 if factor is None else factor) * da_next
    return {"dxt": p["Wax"].T @ dz, "da_prev": p["Waa"].T @ dz, "dWax": dz @ xt.T, "dWaa": dz @ a_prev.T,
            "dba": dz.sum(axis=1, keepdims=True)}


def check_tanh_identity(module, case):
    """rnn_cell_backward follows dz = (1 − a_next²) ⊙ da_next on your own a_next."""
    args, (da_next,) = case["arguments"], case["upstream"]
    outputs, got = gradients_of(module, case)
    a_next = outputs["a_next"]
    z = args["parameters"]["Wax"] @ args["xt"] + args["parameters"]["Waa"] @ args["a_prev"] + args["parameters"]["ba"]
    note = "dz is the gradient of the pre-activation: dba = np.sum(dz, axis=1, keepdims=True), dWax = dz·xtᵀ, …"
    for what, factor in WRONG_TANH:
        wrong = rnn_identity(args, a_next, da_next, factor(a_next, z))
        if all(mismatch(got[k], wrong[k]) is None for k in wrong):
            note = f"Your gradients are those of {what}."
            break
    compare(named(got), named(rnn_identity(args, a_next, da_next)), f"the tanh identity, {TANH_IDENTITY}", note)


GATES = {"f": "ft", "i": "it", "c": "cct", "o": "ot"}  # each gate's value in the cache
GATE_NAMES = {"f": "forget gate", "i": "input gate", "c": "candidate", "o": "output gate"}


def gate_gradients(args, own, da_next, dc_next, factors):
    """lstm_cell_backward's gradients by the LSTM's equations on your own gates, each gate's derivative factor given."""
    p, v, n_a = args["parameters"], stacked(args), args["a_prev"].shape[0]
    tanh_c = np.tanh(own["c_next"])
    dc = dc_next + da_next * own["ot"] * (1 - tanh_c**2)
    upstream = {"f": dc * args["c_prev"], "i": dc * own["cct"], "c": dc * own["it"], "o": da_next * tanh_c}
    result, dv = {"dc_prev": dc * own["ft"]}, 0
    for k in GATES:
        dg = upstream[k] * factors[k]
        result[f"dW{k}"], result[f"db{k}"] = dg @ v.T, dg.sum(axis=1, keepdims=True)
        dv = dv + p[f"W{k}"].T @ dg
    return {"dxt": dv[n_a:], "da_prev": dv[:n_a], **result}


def check_gate_identities(module, case):
    """lstm_cell_backward follows the LSTM's backward equations on your own gates ft, it, cct, ot (your cache)."""
    args, (da_next, dc_next) = case["arguments"], case["upstream"]
    outputs, got = gradients_of(module, case)
    cache, sizes = outputs["cache"], sizes_of(case["forward"], args)
    if type(cache) not in (tuple, list) or len(cache) != len(LSTM_CACHE):
        raise Failure("the cache returned by lstm_cell_forward must be the course's tuple (" + ", ".join(
            s.split(":")[0] for s in LSTM_CACHE) + "): the course's lstm_cell_backward reads it by position")
    own = {s.split(":")[0]: checked(v, s, sizes, "lstm_cell_forward (its cache)", False)
           for s, v in zip(LSTM_CACHE, cache) if ":" in s}
    right = {k: (1 - own[g]**2) if k == "c" else own[g] * (1 - own[g]) for k, g in GATES.items()}
    expected = gate_gradients(args, own, da_next, dc_next, right)
    notes = []
    for k, g in GATES.items():
        if all(mismatch(got[n], expected[n]) is None for n in (f"dW{k}", f"db{k}")):
            continue
        z = args["parameters"][f"W{k}"] @ stacked(args) + args["parameters"][f"b{k}"]
        for what, factor in (WRONG_TANH if k == "c" else WRONG_SIGMOID):
            wrong = gate_gradients(args, own, da_next, dc_next, {**right, k: factor(own[g], z)})
            if all(mismatch(got[n], wrong[n]) is None for n in (f"dW{k}", f"db{k}")):
                notes.append(f"the {GATE_NAMES[k]}'s dW{k}, db{k} ({g}): Yours follow {what}")
                break
    compare(named(got), named(expected), "the LSTM's backward equations on your own gates (from your cache)",
            "\\n".join(["  " + n for n in notes] + ["  " + CELL_EQUATIONS]))


PROPERTIES = {"reference": check_reference, "shapes": check_shapes, "softmax": check_softmax, "hold": check_hold,
              "composed": check_composed, "finite_differences": check_finite_differences,
              "tanh_identity": check_tanh_identity, "gate_identities": check_gate_identities}


def main(argv):
    problem = usage_problem(argv)
    if problem:
        print(problem, file=sys.stderr)
        return 2
    try:
        install_helpers(Path(argv[0]).resolve().parent)
        module = load(Path(argv[0]))
    except Exception:
        print("importing your submission raised:")
        traceback.print_exc(file=sys.stdout)
        return 1
    needed = {CASE["function"], CASE["forward"]}
    if CASE["kind"] == "composed":  # your sequence forward, and your cell it is compared with
        needed.add(CASE["cell"] + "_cell_forward")
    missing = sorted(name for name in needed if not callable(getattr(module, name, None)))
    if missing:
        print(f"your submission does not define {', '.join(missing)}")
        return 1
    try:
        PROPERTIES[CASE["kind"]](module, CASE)
    except Failure as failure:
        print(f"{CASE['function']}: WRONG\\n    " + str(failure).replace("\\n", "\\n    "))
    except Exception as error:
        print(f"{CASE['function']}: WRONG: your code raised")
        traceback.print_exc(file=sys.stdout)
        if isinstance(error, NameError) and getattr(error, "name", None):
            print(NAME_ERROR.format(name=error.name))
    else:
        print(f"{CASE['function']}: correct\\nThe property holds on this example.")
        return 0
    print("The check fails on your code.")
    return 1
'''
