"""The latents CSV is checked by its records, not its lines: a class name holding a newline
(quoted by the csv module) is not "a file not written completely"."""

from __future__ import annotations

import csv
from types import SimpleNamespace

import numpy as np
import pytest
from external_models import ProtocolModel

import vae_explorer
from vae_explorer.gui.window.export import ExportError, export_latents_csv

NAMES = [f'line1\nline2 "{i}", x' for i in range(3)]


def _read(path) -> list[list[str]]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.reader(f))


def test_class_names_with_newlines_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    mu, logvar = rng.normal(size=(7, 2)).astype(np.float32), rng.normal(size=(7, 2)).astype(np.float32)
    labels = np.array([0, 1, 2, 0, 1, 2, 0], np.uint8)
    state = SimpleNamespace(latents=(mu, logvar), test_set=SimpleNamespace(labels=labels, classes=NAMES))
    path = export_latents_csv(state, tmp_path / "z.csv")  # type: ignore[arg-type]
    rows = _read(path)
    assert rows[0][:4] == ["index", "label", "class", "mu_0"] and len(rows) == 8
    assert [r[2] for r in rows[1:]] == [NAMES[i] for i in labels]
    np.testing.assert_allclose(np.array([r[3:5] for r in rows[1:]], float), mu, rtol=1e-5)


def test_a_truncated_csv_is_still_refused(tmp_path, monkeypatch):
    import vae_explorer.gui.window.export as export

    def short(path, mu, logvar, labels, classes):
        with open(path, "w", newline="", encoding="utf-8") as f:
            f.write('index,label,class,mu_0\r\n0,0,"line1\nli')

    monkeypatch.setattr(export, "write_latents_csv", short)
    test_set = SimpleNamespace(labels=np.zeros(1, np.uint8), classes=NAMES)
    state = SimpleNamespace(latents=(np.zeros((1, 1)), None), test_set=test_set)
    with pytest.raises(ExportError, match="not written completely"):
        export_latents_csv(state, tmp_path / "z.csv")  # type: ignore[arg-type]
    assert not (tmp_path / "z.csv").exists()


def test_the_window_exports_such_names(close_at_end, mnist_test, tmp_path):
    names = [f"line1\nline2 {i}" for i in range(10)]
    w = vae_explorer.explore(
        ProtocolModel(), mnist_test.images[:40], mnist_test.labels[:40], names, block=False
    )
    close_at_end(w)
    try:
        assert w.export_latents(tmp_path / "lat.csv"), w.last_error
        rows = _read(tmp_path / "lat.csv")
        assert len(rows) == 41 and rows[1][2] == names[int(mnist_test.labels[0])]
    finally:
        w.close()
