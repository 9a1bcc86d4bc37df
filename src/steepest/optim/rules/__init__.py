"""Update rules: one module per algorithm, holding its pure rule beside its formula and its spec.

`steepest/optim/rules/adam.py` is all there is to Adam: the state type, the initialiser, the rule
with its formula, and `ADAM`, the `OptimizerSpec` (options with defaults, validators and docs,
paper, learning rate for studies) from which the class `steepest.optim.Adam`, the `--optimizer`
names and the guide's table are derived. Adding an optimizer is adding one module here.

Every optimizer in steepest (the `steepest.optim` classes, the descent lab, the executors, any
distributed runner) calls these functions; no rule is written twice. The contract:

    state = xxx_init(param, ...)                      # a NamedTuple: arrays + scalars
    delta, state = xxx_update(grad, state, param, *, lr, ..., out=None)
    param += delta                                    # the CALLER applies the update

- `grad`, `param`: arrays of one shape S (any shape) and one float dtype. Never written.
- `delta` is what gets ADDED to the parameter: plain gradient descent has delta = −lr·g.
  `maximize=True` ascends instead (every rule then uses −g where the formula says g).
- `state` is a NamedTuple holding arrays (of shape S unless the spec says otherwise, as
  Adafactor's factored moments) and Python scalars (the step count t). Its arrays are updated IN
  PLACE and the returned NamedTuple holds the very same arrays with new scalars, so no copy of
  the optimizer state is made per step. Keep the returned state and drop the old one; to keep a
  snapshot, copy its arrays first. Field names are PyTorch's state keys (`exp_avg`,
  `square_avg`, `momentum_buffer`, ...), so state dicts carry over; the field's type hint (int,
  float, np.ndarray, list[...]) says how a saved state is read back.
- `out`: an optional array of shape S and the parameter's dtype that receives `delta` (it is also
  the scratch space while delta is computed); None allocates one. Given the same `out` each step,
  the default configuration of the common rules runs with no temporary array at all: each line
  is one NumPy ufunc writing into an existing buffer (`out=`). Non-default options that need a
  second buffer (weight decay: g + λw, maximize: −g, AMSGrad's max, NAdam's two terms) allocate
  one, as PyTorch does.
- "Pure" means: no hidden or global state, no randomness; the only effects are on the arrays
  handed in (the state's arrays and `out`). The same inputs always give the same outputs.
- Hyperparameters, the learning rate included, are arguments of every call: a schedule just
  passes another `lr` (nothing is frozen in a closure). The rules have no defaults of their own
  beyond the spec's: `SPEC.step(grad, state, param, lr=...)` fills in the rest.
- Elementwise or not: an elementwise rule's output element i depends only on element i of its
  inputs (plus scalars), so a tensor may be updated chunk by chunk (`ThreadedExecutor`). Rules
  that take a norm of the whole tensor (LAMB, LARS), factor it (Adafactor) or orthogonalise it
  (Muon) are not, and their specs say so.
- dtype: float32 stays float32. Every scalar is a Python float, which NumPy 2 casts to the
  array's dtype (an np.float64 scalar would promote float32 arrays to float64).

Conventions (where libraries differ) are named options, PyTorch's being the default, or, for
algorithms PyTorch lacks, the convention of optax or of the authors' code, named in the spec.

This package also re-exports every module's public names (`rules.adam_update`, `rules.AdamState`).
"""

from __future__ import annotations

import importlib
import pkgutil

__all__: list[str] = []


def _export_every_module() -> None:
    for info in pkgutil.iter_modules(__path__):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        for name in module.__all__:
            globals()[name] = getattr(module, name)
            __all__.append(name)


_export_every_module()
