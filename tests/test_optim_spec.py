"""The spec seam: a class, its signature and docstring, validation, state (de)serialisation and the
guide's table all come from one `OptimizerSpec`; a spec that contradicts its rule fails at once."""

from __future__ import annotations

import inspect
from typing import NamedTuple

import numpy as np
import pytest

from steepest import optim
from steepest.nn import Parameter
from steepest.optim.spec import (
    OptimizerSpec,
    Option,
    Preset,
    all_specs,
    betas,
    find_preset,
    flag,
    get_spec,
    integer,
    number,
    optimizer_table,
    preset_names,
    study_lr,
)


# A whole-tensor rule written here, in the test: one spec is all a new optimizer needs.
class NormalizedState(NamedTuple):
    step: int
    previous: np.ndarray | None = None


def normalized_init(param: np.ndarray) -> NormalizedState:
    return NormalizedState(0)


def normalized_update(grad, state, param, *, lr, eps, out=None):
    """w −= lr·g/(‖g‖ + ε): the norm is over the whole tensor, so it is not elementwise."""
    delta = np.multiply(grad, -lr / (float(np.linalg.norm(grad)) + eps), out=out)
    return delta, NormalizedState(state.step + 1, grad.copy())


NORMALIZED_GD = OptimizerSpec(
    name="NormalizedGD", summary="gradient descent on the unit gradient direction",
    formula="w −= lr·g/(‖g‖ + ε)", paper="a test", year=2000, state=NormalizedState,
    init=normalized_init, update=normalized_update,
    options=(Option("lr", 0.1, number("learning rate"), "step length"),
             Option("eps", 1e-12, number("epsilon value"), "added to the norm")),
    elementwise=False, study_lr=0.1,
)


def test_a_spec_written_anywhere_makes_a_working_class():
    cls = NORMALIZED_GD.optimizer_class
    assert cls.__name__ == "NormalizedGD" and cls.spec is NORMALIZED_GD
    assert str(inspect.signature(cls)) == "(params, lr=0.1, eps=1e-12, *, executor=None)"
    assert "w −= lr·g/(‖g‖ + ε)" in cls.__doc__ and "not elementwise" in cls.__doc__
    w = Parameter(np.array([3.0, 4.0]))
    opt = cls([w], lr=0.5)
    w.grad = np.array([3.0, 4.0])
    opt.step()
    np.testing.assert_allclose(w.data, [3.0 - 0.3, 4.0 - 0.4])
    saved = opt.state_dict()
    assert saved["state"][0]["step"] == 1
    fresh = cls([w], lr=0.5)
    fresh.load_state_dict(saved)
    np.testing.assert_array_equal(fresh.state[w].previous, [3.0, 4.0])
    with pytest.raises(ValueError, match="Invalid learning rate: -1"):
        cls([w], lr=-1)
    with pytest.raises(TypeError, match="NormalizedGD\\(\\): got an unexpected keyword argument"):
        cls([w], momentum=0.9)


def test_a_spec_that_contradicts_its_rule_fails_when_made():
    options = (Option("lr", 0.1, number("learning rate"), "step"),)
    with pytest.raises(TypeError, match=r"exactly the keywords of normalized_update"):
        OptimizerSpec(name="Broken", summary="", formula="", paper="", year=2000,
                      state=NormalizedState, init=normalized_init, update=normalized_update,
                      options=options, elementwise=False, study_lr=0.1)


@pytest.mark.parametrize("check, value, error, message", [
    (number("rho value", high=1.0), 1.5, ValueError, r"Invalid rho value: 1.5 \(must be in"),
    (number("learning rate"), float("nan"), ValueError, "Invalid learning rate: nan"),
    (number("learning rate"), "0.1", TypeError, "Invalid learning rate: '0.1'"),
    (number("d", low=1.0, message="Clipping threshold d should be >= 1 but is: {value}"), 0.5,
     ValueError, "Clipping threshold d should be >= 1 but is: 0.5"),
    (flag("amsgrad"), "no", TypeError, "Invalid amsgrad: 'no'"),
    (integer("ns_steps", low=1), 1.5, TypeError, "Invalid ns_steps: 1.5"),
    (integer("ns_steps", low=1, high=99), 100, ValueError, r"in \[1, 99\]"),
    (betas(), (0.9, 1.0), ValueError, "Invalid beta parameter at index 1: 1.0"),
])
def test_validators_name_the_bad_value(check, value, error, message):
    with pytest.raises(error, match=message):
        check(value)


def test_every_spec_is_consistent_and_documented():
    names = [spec.name for spec in all_specs()]
    assert len(set(names)) == len(names)
    for spec in all_specs():
        assert spec.paper and spec.formula and spec.summary, spec.name
        assert spec.study_lr > 0
        assert all(option.doc for option in spec.options), spec.name
        spec.check(spec.defaults)  # the defaults themselves are valid
        assert get_spec(spec.name.upper()) is spec
        assert set(spec.state_fields) == set(spec.state._fields)
        cls = getattr(optim, spec.name)
        assert cls is spec.optimizer_class
        parameters = inspect.signature(cls).parameters
        assert list(parameters)[1:-1] == [o.name for o in spec.options if not o.keyword_only] + [
            o.name for o in spec.options if o.keyword_only]


def _bad_values(option):
    """Values no option of its kind takes: a word, and NaN where the default is a number."""
    default = option.default
    numeric = isinstance(default, (int, float)) and not isinstance(default, bool)
    return ["bad", *([float("nan")] if numeric else [])]


@pytest.mark.parametrize("spec", all_specs(), ids=lambda s: s.name)
def test_every_option_of_every_spec_refuses_a_bad_value_when_the_optimizer_is_made(spec):
    """Each option's validator runs at construction and in add_param_group, and the message
    names the option's bad value; nothing is half-built (the optimizer keeps its groups)."""
    shape = (2, 2) if spec.param_ndim == 2 else (3,)
    for option in spec.options:
        for bad in _bad_values(option):
            with pytest.raises((TypeError, ValueError)) as raised:
                spec.optimizer_class([Parameter(np.ones(shape))], **{option.name: bad})
            assert repr(bad) in str(raised.value) or str(bad) in str(raised.value), (
                f"{spec.name}({option.name}={bad!r}): {raised.value}")
        if spec.needs_closure:  # one param group only: nothing to add
            continue
        optimizer = spec.optimizer_class([Parameter(np.ones(shape))])
        with pytest.raises((TypeError, ValueError), match="bad"):
            optimizer.add_param_group({"params": [Parameter(np.ones(shape))],
                                       option.name: "bad"})
        assert len(optimizer.param_groups) == 1


def test_presets_and_study_rates_come_from_the_specs():
    assert preset_names()[:3] == ("sgd", "momentum", "nesterov")
    spec, preset = find_preset("Nesterov")
    assert spec is optim.SGD.spec and preset.options == {"momentum": 0.9, "nesterov": True}
    assert study_lr("sgd") == 1.0 and study_lr("momentum") == 0.1
    assert study_lr("adamw") == get_spec("AdamW").study_lr
    with pytest.raises(ValueError,
                       match=r"unknown optimizer 'adamx' \(did you mean 'adam'\?\); choose"):
        find_preset("adamx")
    assert isinstance(Preset("x"), Preset)


def test_the_guide_table_lists_every_spec_with_its_paper_and_defaults():
    table = optimizer_table()
    for spec in all_specs():
        row = next(line for line in table.splitlines() if f"**{spec.name}**" in line)
        assert spec.paper in row
        for name, value in spec.defaults.items():
            assert f"{name}={value!r}" in row


# Written by steepest at 0cd672b (before the specs) with these constructors: three steps, then
# the state, the 4th step's gradients and the parameters the old code reached with them.
OLD_CHECKPOINTS = {
    "sgd": lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01),
    "rmsprop": lambda ps: optim.RMSprop(ps, lr=0.01, momentum=0.5, centered=True),
    "adam": lambda ps: optim.Adam(ps, lr=0.01, amsgrad=True),
    "nadam": lambda ps: optim.NAdam(ps, lr=0.01),
}


@pytest.mark.parametrize("name", OLD_CHECKPOINTS)
def test_checkpoints_written_before_the_specs_load_and_continue_bit_for_bit(name):
    from pathlib import Path

    from steepest import nn
    from steepest.io import load_checkpoint

    checkpoint = load_checkpoint(Path(__file__).parent / "data" /
                                 f"old_optimizer_{name}.safetensors")
    model = nn.Linear(3, 2).double()
    optimizer = OLD_CHECKPOINTS[name](list(model.named_parameters()))
    checkpoint.restore(model, optimizer)
    for param_name, param in model.named_parameters():
        param.grad = checkpoint.arrays[f"grad.{param_name}"]
    optimizer.step()
    for param_name, param in model.named_parameters():
        np.testing.assert_array_equal(param.data, checkpoint.arrays[f"expected.{param_name}"])


def test_the_built_guide_shows_the_current_table():
    """docs/guide/optimizers.md prints optimizer_table(); a spec changed without `make docs`
    leaves it stale, and this fails."""
    from pathlib import Path

    page = (Path(__file__).parent.parent / "docs" / "guide" / "optimizers.md").read_text()
    assert optimizer_table() in page


def test_muon_by_name_pairs_with_adamw_as_one_optimizer():
    from steepest import nn
    from steepest.optim import MultiOptimizer, make_optimizer

    model = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
    opt = make_optimizer("muon", model, lr=0.02, weight_decay=0.05)
    assert isinstance(opt, MultiOptimizer)
    muon, adamw = opt.optimizers
    assert type(muon).__name__ == "Muon" and type(adamw).__name__ == "AdamW"
    assert muon.param_groups[0]["param_names"] == ["0.weight", "2.weight"]
    assert adamw.param_groups[0]["param_names"] == ["0.bias", "2.bias"]
    assert all(g["lr"] == 0.02 and g["weight_decay"] == 0.05 for g in opt.param_groups)
    for p in model.parameters():
        p.grad = np.ones_like(p.data)
    opt.step()
    saved = opt.state_dict()
    assert sorted(saved["state"]) == [0, 1, 2, 3] and len(saved["param_groups"]) == 2
    assert set(saved["state"][0]) == {"momentum_buffer"}
    assert set(saved["state"][2]) == {"step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq"}
    fresh = make_optimizer("muon", model, lr=0.5)
    fresh.load_state_dict(saved)
    assert fresh.param_groups[0]["lr"] == 0.02
    np.testing.assert_array_equal(fresh.state[model[0].weight].momentum_buffer,
                                  muon.state[model[0].weight].momentum_buffer)
    broken = {**saved, "state": {**saved["state"], 7: saved["state"][0]}}
    with pytest.raises(ValueError, match=r"parameter ids \[7\] matches no parameter"):
        fresh.load_state_dict(broken)
    with pytest.raises(ValueError, match="Muon takes 2-D parameters and the model has none"):
        make_optimizer("muon", [steepest_tensor((3,))], lr=0.1)


def steepest_tensor(shape):
    import steepest

    return steepest.Tensor(np.zeros(shape), requires_grad=True)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("spec", [s for s in all_specs() if not s.needs_closure],
                         ids=lambda s: s.name)
def test_every_rule_keeps_the_contract(spec, dtype):
    """Every rule, with its defaults: state arrays updated in place and handed back, `out`
    receives delta, grad and param untouched, the dtype kept, the same numbers as out=None."""
    rng = np.random.default_rng(0)
    param = rng.standard_normal((4, 3)).astype(dtype)
    state, twin = spec.init_state(param), spec.init_state(param)
    out = np.empty_like(param)
    for _ in range(3):
        grad = rng.standard_normal((4, 3)).astype(dtype)
        grad_copy, param_copy = grad.copy(), param.copy()
        before = [id(a) for a in state if isinstance(a, np.ndarray)]
        delta, new_state = spec.step(grad, state, param, out=out)
        fresh, twin = spec.step(grad, twin, param)
        assert delta is out and delta.dtype == dtype
        np.testing.assert_array_equal(delta, fresh)
        np.testing.assert_array_equal(grad, grad_copy)
        np.testing.assert_array_equal(param, param_copy)
        assert type(new_state) is spec.state
        after = [id(a) for a in new_state if isinstance(a, np.ndarray)]
        assert after[:len(before)] == before
        assert all(a.dtype == dtype for a in new_state if isinstance(a, np.ndarray))
        state = new_state
        param += delta
