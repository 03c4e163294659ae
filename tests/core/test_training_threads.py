"""The training step's thread count follows background load (ThreadTuner), and switching
it changes no result: the MLP step is the same to the bit at any thread count."""

from __future__ import annotations

import pytest
import torch

import vae_explorer.core.training.loop as loop_module
from vae_explorer.core.model import VAE, VAEConfig
from vae_explorer.core.training import TrainConfig, train
from vae_explorer.core.training.mlp_step import MLPStep
from vae_explorer.core.training.threads import ThreadTuner


class FakeClock:
    """A clock where a step at one thread takes ``one`` seconds and at more takes ``many``."""

    def __init__(self, one: float, many: float) -> None:
        self.now, self.one, self.many = 0.0, one, many

    def __call__(self) -> float:
        return self.now

    def step(self, tuner: ThreadTuner) -> None:
        tuner.begin()
        self.now += self.one if torch.get_num_threads() == 1 else self.many
        tuner.end()


class LoadClock(FakeClock):
    """Each reading advances by one step's cost at the current thread count, so the time
    between a tuner's begin() and end() is that cost (for runs driven by the loop)."""

    def __call__(self) -> float:
        self.now += self.one if torch.get_num_threads() == 1 else self.many
        return self.now


def test_step_is_identical_at_one_and_two_threads(two_threads):
    results = []
    for threads in (1, 2):
        torch.set_num_threads(threads)
        torch.manual_seed(0)
        m = VAE()
        recon, kl = MLPStep(m, 1.0)(torch.rand(100, 784), torch.randn(100, 2))
        results.append(([float(recon), float(kl)], [p.grad.clone() for p in m.parameters()]))
    assert results[0][0] == results[1][0]
    assert all(torch.equal(a, b) for a, b in zip(results[0][1], results[1][1], strict=True))


def test_an_error_inside_the_step_leaves_the_thread_count_as_it_was(two_threads):
    """The step runs its latent-sized products on one thread; a bad input failing there
    must not leave the process (and every thread it starts later) on one thread."""
    step = MLPStep(VAE(), 1.0)
    with pytest.raises(RuntimeError):
        step(torch.rand(4, 784), torch.randn(4, 3))  # noise for 3 latent units, the model has 2
    assert torch.get_num_threads() == 2


def test_tuner_keeps_all_threads_when_they_are_faster(two_threads):
    clock = FakeClock(one=2.0, many=1.0)
    tuner = ThreadTuner(clock=clock)
    for _ in range(40):
        clock.step(tuner)
    assert tuner.choice == 2 and torch.get_num_threads() == 2 and tuner.switches == 0
    assert tuner.seconds_per_step == {2: 1.0, 1: 2.0}


def test_tuner_falls_back_to_one_thread_under_load_and_comes_back(two_threads):
    clock = FakeClock(one=0.01, many=0.1)  # a busy core: the 2-thread step is 10x slower
    tuner = ThreadTuner(clock=clock, recheck_seconds=1.0)
    for _ in range(30):
        clock.step(tuner)
    assert tuner.choice == 1 and torch.get_num_threads() == 1 and tuner.switches == 1
    clock.one, clock.many = 0.02, 0.01  # the load went away
    for _ in range(400):
        clock.step(tuner)
    assert tuner.choice == 2 and torch.get_num_threads() == 2 and tuner.switches == 2
    tuner.restore()
    assert torch.get_num_threads() == 2


def test_tuner_does_nothing_with_one_thread_or_when_disabled(two_threads):
    clock = FakeClock(one=0.01, many=1.0)
    disabled = ThreadTuner(enabled=False, clock=clock)
    for _ in range(30):
        clock.step(disabled)
    assert not disabled.active and torch.get_num_threads() == 2
    torch.set_num_threads(1)
    single = ThreadTuner(clock=clock)
    assert not single.active and single.options == (1,)


def test_a_run_that_switches_threads_trains_the_same_weights(two_threads, small_images, monkeypatch):
    """The loop's tuner, made to switch every few steps, leaves the exact weights and losses of
    a run that never switches, and puts the caller's thread count back at the end."""

    def run(tuner_factory):
        monkeypatch.setattr(loop_module, "ThreadTuner", tuner_factory)
        torch.manual_seed(0)
        m = VAE(VAEConfig(hidden_dim=32))
        events = list(train(m, small_images[:1000], TrainConfig(epochs=2, batch_size=50, log_every=5)))
        assert torch.get_num_threads() == 2
        return [getattr(e, "loss", None) for e in events], [p.detach().clone() for p in m.parameters()]

    made: list[ThreadTuner] = []

    class Flapping(ThreadTuner):
        """Switches after every probe, whatever it measured."""

        def _decide(self, now: float) -> None:
            self.choice = 1 if self.choice != 1 else self.most
            self.switches += 1
            torch.set_num_threads(self.choice)
            self._next_probe = now

    def flapping(enabled: bool) -> ThreadTuner:
        made.append(Flapping(enabled, probe_steps=1, first_probe_seconds=0.0))
        return made[-1]

    switching = run(flapping)
    assert made and made[0].switches >= 5
    steady = run(lambda enabled: ThreadTuner(enabled=False))
    assert switching[0] == steady[0]
    assert all(torch.equal(a, b) for a, b in zip(switching[1], steady[1], strict=True))


def test_closing_a_run_early_restores_the_thread_count(two_threads, small_images, monkeypatch):
    clock = LoadClock(one=0.01, many=0.1)  # a busy core: the tuner switches to one thread
    monkeypatch.setattr(loop_module, "ThreadTuner", lambda enabled: ThreadTuner(enabled, clock=clock))
    gen = train(
        VAE(VAEConfig(hidden_dim=16)), small_images, TrainConfig(epochs=5, batch_size=10, log_every=1)
    )
    for ev in gen:
        if getattr(ev, "batch", 0) == 30:
            break
    assert torch.get_num_threads() == 1
    gen.close()
    assert torch.get_num_threads() == 2


def test_a_hopeless_count_is_dropped_after_one_step(two_threads):
    """Re-probing the far slower count costs one step, not a full probe (the busy-core case)."""
    clock = FakeClock(one=0.01, many=1.0)
    tuner = ThreadTuner(clock=clock, recheck_seconds=0.5)
    while tuner.switches == 0:
        clock.step(tuner)  # the initial probe: all threads first, then one
    assert tuner.choice == 1 and tuner.seconds_per_step == pytest.approx({2: 1.0, 1: 0.01})
    at_two, rounds, last = 0, 0, tuner.seconds_per_step
    for _ in range(500):
        at_two += torch.get_num_threads() == 2
        clock.step(tuner)
        if tuner.seconds_per_step is not last:
            rounds, last = rounds + 1, tuner.seconds_per_step
    assert tuner.choice == 1 and rounds >= 2
    assert at_two == rounds  # one step at the hopeless count per re-check


def test_the_first_probe_waits_past_the_runs_start(two_threads):
    """A run's first second shares the CPU with its own start (the window drawing the first
    batch): a probe then would make all threads look slow and hold one thread for seconds."""
    clock = FakeClock(one=0.01, many=0.1)  # as if the start-up load lasted
    tuner = ThreadTuner(clock=clock, first_probe_seconds=1.0)
    for _ in range(9):  # 0.9 s of steps
        clock.step(tuner)
    assert tuner.switches == 0 and torch.get_num_threads() == 2
    for _ in range(20):
        clock.step(tuner)
    assert tuner.choice == 1 and tuner.switches == 1  # then it does probe, and acts on it
