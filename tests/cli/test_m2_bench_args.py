"""benchmarks/m2_bench.py builds each run as a `vae-explorer train` command line: its options
must stay ones the CLI accepts, and reach the job."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "m2_bench.py"


@pytest.fixture(scope="module")
def m2_bench():
    spec = importlib.util.spec_from_file_location("m2_bench", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("dropout, all_units", [(0.5, True), (0.0, False)])
def test_bench_runs_are_cli_command_lines(m2_bench, dropout, all_units):
    import argparse

    opts = argparse.Namespace(
        model="m1m2", latent_dim=10, epochs=3, m1_epochs=2, m1_hidden_dim="600,600", m1_activation="softplus",
        alpha=0.1, lr=3e-3, lr_schedule="cosine", device="cpu", labelled_weight="batch",
        classifier_dropout=dropout, m1_all_units=all_units,
    )  # fmt: skip
    argv = m2_bench.cli_args(opts, 600, 1, "out.safetensors")
    job = m2_bench._job(argv)
    assert (job.labels, job.train_config.seed, job.train_config.epochs, job.m1_epochs) == (600, 1, 3, 2)
    assert job.model_config.classifier_dropout == dropout and job.m1_active_only is not all_units
    assert job.model_config.m1_hidden_dim == (600, 600) and job.model_config.latent_dim == 10
