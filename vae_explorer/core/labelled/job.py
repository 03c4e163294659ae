"""One labelled run from settings to checkpoint metadata: the labelled counterpart of
:func:`..training.job.run_job`, yielding the same events so the CLI and the window's
training controller can run it.

M1+M2 first trains M1 (a VAE on every training image, labels unused) with the VAE's own
loop, then M2 on M1's latents (only its active units, M1 cut down to them: Kingma et al.'s
code did the same); M2 alone starts at once. An epoch of M2 is one pass over the
unlabelled images; every batch also holds ``labelled_batch`` labelled ones, cycled, so the
few labels are seen at every step (the loss weights keep the estimate of the paper's
objective unbiased, see :mod:`.loss`). History records carry "test_error" and
"per_class_accuracy" beside the VAE's fields; each Snapshot's (and TrainingFinished's)
``arrays`` hold the labelled subset's indices ("labelled_indices", int64), the test
latents under the predicted labels ("test_mu", "test_logvar") and the test set's
predicted labels ("test_predicted", int64).
"""

from __future__ import annotations

import math
import time
from collections.abc import Generator, Iterator
from dataclasses import replace
from typing import Any

import numpy as np
import torch

from ..devices import resolve_device
from ..model import ConfigError, as_image_tensor
from ..training.config import TrainConfig, use_bf16_products
from ..training.events import (
    BatchMetrics,
    EpochSummary,
    Snapshot,
    TrainingControl,
    TrainingEvent,
    TrainingFailed,
    TrainingFinished,
    TrainingStarted,
)
from ..training.live_snapshots import LiveSnapshots
from ..training.loop import adam, train
from ..training.mlp_step import FusedAdam
from ..training.threads import ThreadTuner
from .evaluation import evaluate_labelled
from .job_settings import INDICES_KEY, LabelledJob, phase_epochs
from .loss import LossWeights, m2_loss
from .m2_step import M2Step, unsupported
from .model import LabelledModel, M2Networks
from .pretrained import active_dims, keep_latent_dims
from .split import labelled_indices, unlabelled_indices


def run_labelled_job(job: LabelledJob, control: TrainingControl | None = None) -> Iterator[TrainingEvent]:
    """Run ``job``: TrainingStarted, then BatchMetrics / EpochSummary / Snapshot per epoch,
    a final Snapshot and TrainingFinished (with "test_metrics" and "train_seconds")."""
    control = control or TrainingControl()
    tc = job.train_config
    ref = job.dataset_ref
    train_set, test_set = ref.load("train", download=job.download), ref.load("test", download=job.download)
    images, labels = train_set.images, train_set.labels
    if job.train_limit:
        images, labels = images[: job.train_limit], labels[: job.train_limit]
    device = resolve_device(tc.device)
    if job.torch_threads:
        torch.set_num_threads(job.torch_threads)
    labelled = labelled_indices(labels, job.labels, tc.seed, job.model_config.classes)
    torch.manual_seed(tc.seed)
    model = LabelledModel(job.model_config)
    if job.pretrained_m1 is not None and model.m1 is not None:
        if job.pretrained_m1.config != model.m1.config:
            raise ConfigError(
                f"the given M1 is {job.pretrained_m1.config}, but this model needs {model.m1.config}"
            )
        model.m1.load_state_dict(job.pretrained_m1.state_dict())
    model = model.to(device)
    run = _Run(job, model, images, labels, labelled, test_set, control, device)
    yield from run.events()


def _hand_step(nets: M2Networks, bf16_products: bool) -> M2Step | None:
    """M2's hand-derived step for ``nets``; None where it does not cover them (autograd)."""
    return M2Step(nets, bf16_products) if unsupported(nets) is None else None


class _Run:
    def __init__(
        self, job: LabelledJob, model: LabelledModel, images: np.ndarray, labels: np.ndarray,
        labelled: np.ndarray, test_set: Any, control: TrainingControl, device: torch.device,
    ) -> None:  # fmt: skip
        self.job, self.model, self.control, self.device = job, model, control, device
        self.images, self.labelled = images, labelled
        self.unlabelled = unlabelled_indices(images.shape[0], labelled)
        self.y = torch.as_tensor(labels.astype(np.int64), device=device)
        self.test_images, self.test_labels = test_set.images, test_set.labels
        self.history: list[dict[str, Any]] = []
        self.m1_epochs = job.m1_epochs_to_run
        self.started = time.perf_counter()
        self.arrays: dict[str, np.ndarray] = {}
        self.m1_kept: np.ndarray | None = None
        self._m1_stopped_at: tuple[int, int] | None = None  # (epoch, batch) of M1's stop snapshot
        tc = job.train_config
        self._live = LiveSnapshots(tc.snapshot_every, tc.snapshot_seconds)  # M2's mid-epoch ones

    def events(self) -> Iterator[TrainingEvent]:
        tc = self.job.train_config
        bu = min(tc.batch_size, self.unlabelled.shape[0])
        self.batches = (
            self.unlabelled.shape[0] // bu if bu else max(1, self.labelled.shape[0] // tc.batch_size)
        )
        total = self.m1_epochs + tc.epochs
        yield TrainingStarted(str(self.device), total, self.batches, int(self.images.shape[0]))
        if tc.snapshot_every:  # live views: the new model from the start (see TrainConfig)
            yield self._snapshot(0, 0)
        if self.m1_epochs:
            failure = yield from self._train_m1(total)
            if failure is not None or self.control.stopped:
                if failure is None and self._m1_stopped_at is not None:  # its snapshot went out
                    yield from self._finish(*self._m1_stopped_at, stopped=True, snapshot=False)
                else:
                    yield from self._finish(phase_epochs(self.history, "m1"), 0, stopped=True)
                return
        yield from self._train_m2(total, bu)

    def _train_m1(self, total: int) -> Generator[TrainingEvent, None, TrainingFailed | None]:
        """M1's epochs with the VAE's loop. Where the run hands snapshots to live views, M1's
        become snapshots of the whole model (M1 as trained so far, M2 as yet untrained): the
        views and the window's recovery copy follow the M1 phase too. A stop's snapshot (the
        weights where it stopped) always goes out, and is the run's last."""
        assert self.model.m1 is not None
        tc = self.job.train_config
        config = replace(
            TrainConfig(), epochs=self.m1_epochs, seed=tc.seed, device=tc.device,
            log_every=tc.log_every, kl_warmup_epochs=tc.kl_warmup_epochs,
            matmul_precision=tc.matmul_precision, snapshot_every=tc.snapshot_every,
            snapshot_seconds=tc.snapshot_seconds,
        )  # fmt: skip
        stop_snapshot: Snapshot | None = None
        for ev in train(self.model.m1, self.images, config, None, self.control):
            if isinstance(ev, BatchMetrics):
                yield ev
            elif isinstance(ev, EpochSummary):
                self.history.append({**ev.record(), "phase": "m1"})
                yield replace(ev, epochs=total)
            elif isinstance(ev, Snapshot) and (ev.epoch, ev.batch) != (0, 0):  # (0, 0): shown
                if self.control.stopped:
                    stop_snapshot = ev  # the last before the loop ends is the stop's
                elif tc.snapshot_every:  # (the loop hands one over at every epoch's end)
                    yield self._m1_snapshot(ev)
            elif isinstance(ev, TrainingFinished) and ev.stopped and stop_snapshot is not None:
                yield self._m1_snapshot(stop_snapshot)
                self._m1_stopped_at = (stop_snapshot.epoch, stop_snapshot.batch)
            elif isinstance(ev, TrainingFailed):
                yield replace(ev, message=f"M1 (the VAE under M2): {ev.message}")
                return ev
        return None

    def _m1_snapshot(self, ev: Snapshot) -> Snapshot:
        """The whole model's snapshot for M1's ``ev`` (M1 is left in the mode it was in)."""
        assert self.model.m1 is not None
        training = self.model.m1.training
        snapshot = self._snapshot(ev.epoch, ev.batch)
        self.model.m1.train(training)
        return snapshot

    def _features(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        """M2's training data: pixels, or M1's posterior (means, log-variances)."""
        x = as_image_tensor(self.images).to(self.device)
        if self.model.m1 is None:
            return x, None
        self.model.m1.eval()
        with torch.no_grad():
            out = [self.model.m1.encode(x[i : i + 10000]) for i in range(0, x.shape[0], 10000)]
        return torch.cat([m for m, _ in out]), torch.cat([v for _, v in out])

    def _keep_active_m1(self, mu: torch.Tensor) -> np.ndarray | None:
        """M1+M2: cut M1 down to the active units of its training means ``mu`` and build
        M2 for them (initialised from the seed); the kept indices, None if all are kept."""
        assert self.model.m1 is not None
        if mu.shape[0] < 2:  # a unit's activity is a variance over images: one tells nothing
            return None
        keep = active_dims(mu)
        if keep.size == mu.shape[1]:
            return None
        m1 = keep_latent_dims(self.model.m1, keep, fill=mu.mean(0))
        with torch.random.fork_rng(devices=[]):  # M2's initial weights from the seed alone
            torch.manual_seed(self.job.train_config.seed)
            model = LabelledModel(replace(self.model.config, m1_latent_dim=int(keep.size)))
        assert model.m1 is not None
        model.m1.load_state_dict(m1.state_dict())
        self.model = model.to(self.device)
        return keep

    def _train_m2(self, total: int, bu: int) -> Iterator[TrainingEvent]:
        mu, logvar = self._features()
        if logvar is not None and self.job.m1_active_only:
            self.m1_kept = self._keep_active_m1(mu)
            if self.m1_kept is not None:
                index = torch.as_tensor(self.m1_kept, device=mu.device)
                mu, logvar = mu[:, index], logvar[:, index]
        job, tc, nets = self.job, self.job.train_config, self.model.m2
        n_l, n_u = self.labelled.shape[0], self.unlabelled.shape[0]
        bl = min(job.labelled_batch if n_u else tc.batch_size, n_l)
        if job.labelled_weight == "paper":
            weights = LossWeights.for_split(n_l, n_u, job.alpha)
        else:
            weights = LossWeights.oversampled(bl, bu if n_u else 0, n_l, n_l + n_u, job.alpha)
        gen = torch.Generator(device=self.device).manual_seed(tc.seed)
        rng = np.random.default_rng(tc.seed)
        # On CPUs with native bf16 the networks' products run in bf16 (the weights, Adam and
        # the losses' sums stay float32): about twice the speed for M2 on pixels, the same
        # test error (README, Labelled models).
        low = use_bf16_products(tc.matmul_precision, self.device)
        # The hand-derived step (gradients written out, no autograd graph) where it covers
        # the networks; else autograd, under bf16 autocast for the bf16 products.
        hand = _hand_step(nets, low)
        opt: torch.optim.Optimizer | FusedAdam = (
            FusedAdam(nets.parameters(), tc.lr)
            if hand is not None and FusedAdam.supported(self.device)
            else adam(nets, tc.lr, self.device)
        )
        steps, step = tc.epochs * self.batches, 0
        shown_step = 0  # the step of the last snapshot's weights (0: the run's first ones)
        lab_order = rng.permutation(self.labelled)
        lab_pos = 0
        good = {k: v.clone() for k, v in nets.state_dict().items()}
        # Under load one thread beats two (see ThreadTuner); it checks which, now and then.
        tuner = ThreadTuner(enabled=self.device.type == "cpu")

        def draw(idx: np.ndarray) -> torch.Tensor:
            i = torch.as_tensor(idx, device=self.device)
            if logvar is None:
                return mu[i]
            eps = torch.randn(mu[i].shape, generator=gen, device=self.device)
            return mu[i] + torch.exp(0.5 * logvar[i]) * eps

        try:
            for epoch in range(1, tc.epochs + 1):
                nets.train()
                order = rng.permutation(self.unlabelled)
                sums, count, tick, started = np.zeros(3), 0, time.perf_counter(), time.perf_counter()
                for b in range(self.batches):
                    if self.control.paused:
                        paused_at = time.perf_counter()
                        if shown_step != step:  # the weights it stops at, for the views, once
                            shown_step = step
                            yield self._snapshot(self.m1_epochs + epoch, b)
                            nets.train()  # (the snapshot encodes in eval mode)
                        self.control.wait_while_paused()
                        away = time.perf_counter() - paused_at  # not training time
                        started, tick = started + away, tick + away
                    if self.control.stopped:
                        yield from self._finish(self.m1_epochs + epoch - 1, b, stopped=True)
                        return
                    if lab_pos + bl > n_l:
                        lab_order, lab_pos = rng.permutation(self.labelled), 0
                    idx_l = lab_order[lab_pos : lab_pos + bl]
                    lab_pos += bl
                    x_u = draw(order[b * bu : (b + 1) * bu]) if bu else mu[:0]
                    if tc.lr_schedule == "cosine":
                        for group in opt.param_groups:
                            group["lr"] = tc.lr * 0.5 * (1 + math.cos(math.pi * step / steps))
                    tuner.begin()
                    x_l, y_l = draw(idx_l), self.y[torch.as_tensor(idx_l)]
                    if hand is not None:
                        used = x_u.shape[0] if weights.unlabelled_share > 0 else 0
                        loss, parts = hand(x_l, y_l, x_u, weights, hand.draws(x_l.shape[0], used, gen))
                    else:
                        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=low):
                            loss, parts = m2_loss(nets, x_l, y_l, x_u, weights, gen)
                    if not bool(torch.isfinite(loss)):
                        nets.load_state_dict(good)
                        yield TrainingFailed(
                            f"the M2 loss became non-finite in epoch {epoch}, batch {b + 1}; try a "
                            f"lower learning rate (now {tc.lr:g})", self.m1_epochs + epoch, b + 1,
                        )  # fmt: skip
                        yield from self._finish(self.m1_epochs + epoch - 1, b, stopped=True)
                        return
                    if b % tc.log_every == 0:  # weights a finite loss was just measured at
                        good = {k: v.clone() for k, v in nets.state_dict().items()}
                    if hand is None:
                        nets.zero_grad(set_to_none=True)
                        loss.backward()
                    opt.step()
                    tuner.end()
                    step += 1
                    sums += (float(loss.detach()), float(parts["labelled"]), float(parts["kl"]))
                    count += 1
                    if count == tc.log_every or b + 1 == self.batches:
                        now = time.perf_counter()
                        ips = count * (bu + bl) / max(now - tick, 1e-9)
                        loss_m, labelled_m, kl_m = (float(v) for v in sums / count)
                        yield BatchMetrics(
                            self.m1_epochs + epoch, b + 1, self.batches, loss_m, labelled_m, kl_m, ips
                        )
                        sums, count, tick = np.zeros(3), 0, now
                    if self._live.due(b + 1, self.batches):
                        paused_at = time.perf_counter()
                        shown_step = step
                        yield self._snapshot(self.m1_epochs + epoch, b + 1)
                        nets.train()  # (the snapshot encodes in eval mode)
                        away = time.perf_counter() - paused_at  # not training time
                        started, tick = started + away, tick + away
                seconds = time.perf_counter() - started
                yield from self._epoch_end(epoch, total, seconds, opt.param_groups[0]["lr"], loss)
                shown_step = step  # (its snapshot has these weights)
        finally:
            tuner.restore()

    def _epoch_end(
        self, epoch: int, total: int, seconds: float, lr: float, loss: torch.Tensor
    ) -> Iterator[TrainingEvent]:
        metrics = evaluate_labelled(
            self.model, self.test_images, self.test_labels, self.job.train_config.seed
        )
        summary = EpochSummary(
            self.m1_epochs + epoch, total, float(loss.detach()), float("nan"), float("nan"),
            metrics["elbo"], None, None, seconds, float(lr),
        )  # fmt: skip
        self.history.append(
            {**summary.record(), "phase": "m2", "test_error": metrics["error"],
             "per_class_accuracy": metrics["per_class_accuracy"]}
        )  # fmt: skip
        yield summary
        if epoch < self.job.train_config.epochs:
            yield self._snapshot(self.m1_epochs + epoch, self.batches)
        else:
            yield from self._finish(self.m1_epochs + epoch, self.batches, stopped=False)

    def _snapshot(self, epoch: int, batch: int) -> Snapshot:
        self.model.eval()
        mu, logvar, predicted = self.model.encode_classified(self.test_images)
        test_mu, test_logvar = mu.cpu().numpy(), logvar.cpu().numpy()
        state = {k: v.detach().to("cpu", copy=True) for k, v in self.model.state_dict().items()}
        self.arrays = {
            INDICES_KEY: self.labelled, "test_mu": test_mu, "test_logvar": test_logvar,
            "test_predicted": predicted.cpu().numpy().astype(np.int64),
        }  # fmt: skip
        snapshot = Snapshot(
            epoch, batch, state, self.model.config, test_mu, test_logvar,
            [dict(r) for r in self.history], self.job.metadata(self.history, self.labelled, self.m1_kept),
            dict(self.arrays),
        )  # fmt: skip
        self._live.taken()
        return snapshot

    def _finish(
        self, epoch: int, batch: int, stopped: bool, snapshot: bool = True
    ) -> Iterator[TrainingEvent]:
        """The last snapshot (unless it went out already) and TrainingFinished."""
        if snapshot:
            yield self._snapshot(epoch, batch)
        metadata = self.job.metadata(self.history, self.labelled, self.m1_kept)
        # A run stopped in M1's phase leaves M2 untrained: its test figures would say nothing,
        # and scoring it would keep the user waiting on Stop for seconds.
        in_m1 = bool(self.m1_epochs) and not phase_epochs(self.history, "m2")
        metadata["test_metrics"] = None if in_m1 else evaluate_labelled(
            self.model, self.test_images, self.test_labels, self.job.train_config.seed
        )  # fmt: skip
        metadata["train_seconds"] = round(time.perf_counter() - self.started, 2)
        done = phase_epochs(self.history, "m2")
        yield TrainingFinished(done, stopped, [dict(r) for r in self.history], metadata, dict(self.arrays))
