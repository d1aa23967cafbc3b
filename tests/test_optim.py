"""The learning-rate schedules and AdamW's use of them."""

import numpy as np
import pytest

from sktransformer._optim import FINAL_FRACTION, AdamW, learning_rate_at


@pytest.mark.parametrize("schedule", ["constant", "linear", "cosine"])
def test_warmup_rises_linearly_to_the_base_rate(schedule):
    rates = [learning_rate_at(s, 100, 0.01, schedule, warmup_fraction=0.1) for s in range(1, 11)]
    np.testing.assert_allclose(rates, 0.01 * np.arange(1, 11) / 10)


@pytest.mark.parametrize("schedule", ["linear", "cosine"])
@pytest.mark.parametrize("warmup_fraction", [0.0, 0.2])
def test_decay_is_monotone_and_reaches_its_floor_at_the_last_step(schedule, warmup_fraction):
    n_warmup = int(np.ceil(warmup_fraction * 50))
    rates = [learning_rate_at(s, 50, 0.01, schedule, warmup_fraction) for s in range(1, 61)]
    decay = rates[n_warmup:50]
    assert decay[0] == pytest.approx(0.01)
    assert all(a > b for a, b in zip(decay, decay[1:], strict=False))
    assert rates[49] == pytest.approx(FINAL_FRACTION * 0.01)
    assert rates[50:] == pytest.approx([FINAL_FRACTION * 0.01] * 10)  # kept beyond the end


def test_constant_schedule_stays():
    assert [learning_rate_at(s, 30, 0.003) for s in range(1, 40)] == [0.003] * 39


def test_cosine_is_halfway_at_the_middle():
    rate = learning_rate_at(51, 101, 1.0, "cosine", final_fraction=0.0)
    assert rate == pytest.approx(0.5)


def test_adamw_steps_with_the_scheduled_rate():
    params = {"w": np.zeros(3, np.float32)}
    optimizer = AdamW(params, learning_rate=0.1, weight_decay=0.0, schedule="linear",
                      total_steps=4, warmup_fraction=0.5)
    seen = []
    for _ in range(5):
        seen.append(optimizer.current_learning_rate())
        before = params["w"].copy()
        optimizer.update(params, {"w": np.ones(3, np.float32)})
        # Adam's first step moves by the learning rate (bias-corrected m / sqrt(v) = 1)
        if optimizer.t == 1:
            np.testing.assert_allclose(before - params["w"], seen[0], rtol=1e-5)
    assert seen == pytest.approx([0.05, 0.1, 0.1, 0.1 * FINAL_FRACTION, 0.1 * FINAL_FRACTION])
