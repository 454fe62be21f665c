"""`learned.pt`: the combining weights a report draws, written beside result.json (small enough
to commit where the checkpoints are not), and read back with or without the checkpoint."""

import torch

from lrlc.experiments.records import CHECKPOINT, LEARNED, load_run_model, read_combining
from lrlc.experiments.run import train

from .test_train import tiny


def test_a_finished_lrlc_run_keeps_its_combining_weights(mnist_few, tmp_path):
    train(tiny(model="lrlcall", rank=3, epochs=1, width=8), tmp_path, data=mnist_few,
          progress=False)  # fmt: skip
    model, _ = load_run_model(tmp_path)
    with torch.no_grad():
        want = {name: m.combining_weights() for name, m in model.named_modules()
                if hasattr(m, "combining_weights")}  # fmt: skip
    assert sorted(want) == ["features.0", "features.3", "features.6"]
    assert (tmp_path / LEARNED).exists()
    kept = read_combining(tmp_path)
    assert sorted(kept) == sorted(want)
    for name, w in want.items():
        assert kept[name].shape == (3, *w.shape[1:]) and torch.equal(kept[name], w), name
    # Trained away from the constant start, so the maps are not all equal by construction.
    assert any(float(w.std()) > 0 for w in kept.values())
    # Without learned.pt (runs that predate it), the checkpoint gives the same weights.
    (tmp_path / LEARNED).unlink()
    assert all(torch.equal(read_combining(tmp_path)[n], w) for n, w in want.items())
    (tmp_path / CHECKPOINT).unlink()
    assert read_combining(tmp_path) is None


def test_runs_without_fixed_lrlc_layers_write_no_learned_file(mnist_few, tmp_path):
    train(tiny(model="lrlc3_id", rank=2, epochs=1, width=8), tmp_path / "id", data=mnist_few,
          progress=False)  # fmt: skip
    train(tiny(model="conv", epochs=1, width=8), tmp_path / "conv", data=mnist_few,
          progress=False)  # fmt: skip
    assert not (tmp_path / "id" / LEARNED).exists()
    assert not (tmp_path / "conv" / LEARNED).exists()
