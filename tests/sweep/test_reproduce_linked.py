"""A preset with linked sweeps (an ablation, a canvas pair) end to end on tiny real runs, its
reports from partial records, and the converged preset's grid."""

import pytest

from lrlc.experiments.report.linked import SHARED
from lrlc.experiments.reproduce import CONVERGED, Preset, SweepPlan, reproduce
from lrlc.experiments.reproduce.converged import MODELS
from lrlc.models import uses_rank

TINY = dict(train_size=200, width=8, epochs=1, batch_size=128, val_every=0, precision="fp32")


def tiny_preset() -> Preset:
    return Preset(
        "tiny",
        "a main sweep, an ablation and a random canvas, one seed each",
        (
            SweepPlan("mnist", "mnist", ("conv", "lrlc3"), (2,), (0,), TINY,
                      note="Trimmed: one seed."),
            SweepPlan("mnist_init", "mnist", ("lrlc3",), (2,), (0,),
                      dict(TINY, layer_kwargs={"init": "random"}), link_to="mnist",
                      label="init random"),
            SweepPlan("mnist_canvas", "mnist", ("conv",), (1,), (0,),
                      dict(TINY, canvas="random:36"), link_to="mnist", label="random canvas"),
        ),
    )  # fmt: skip


def test_a_preset_with_linked_sweeps_from_partial_to_complete(tmp_path, tiny_loader, capsys):
    preset = tiny_preset()
    partial = Preset(preset.name, preset.description, preset.sweeps[:1])
    kw = dict(loader=tiny_loader, report_dir=tmp_path / "r", figures=False)
    reproduce(partial, tmp_path, **kw)  # only the main sweep has run
    capsys.readouterr()
    reports = reproduce(preset, tmp_path, train=False, **kw)
    assert "report mnist_init: no finished runs yet" in capsys.readouterr().out
    assert not (reports / "mnist_init").exists()
    assert "[init random]" not in (reports / "mnist" / "report.md").read_text()  # not yet run

    assert reproduce(preset, tmp_path, **kw) == tmp_path / "r"  # trains the other two sweeps
    md = (reports / "mnist" / "report.md").read_text()
    assert "| LRLC (3RD LAYER) [init random] | lrlc3@init random |" in md
    assert "| CONVOLUTION [random canvas] | conv@random canvas |" in md
    assert "[init random]: mnist, layer options {'init': 'random'}. Runs: all 1 planned." in md
    assert "Runs: all 2 planned. Trimmed: one seed." in md and "train size 200" in md
    # The canvas sweep trained on 36 x 36 images and has a report of its own.
    canvas_md = (reports / "mnist_canvas" / "report.md").read_text()
    assert "at random positions on a 36x36 canvas" in canvas_md


def test_the_converged_grid():
    names = [s.name for s in CONVERGED.sweeps]
    assert names[:5] == ["mnist", "mnist_init_random", "mnist_full_combining",
                         "mnist_canvas_centre", "mnist_canvas_random"]  # fmt: skip
    main = CONVERGED.sweeps[0].grid()
    # Every model of the issue, 5 seeds, the 3rd-layer LRLC over ranks 1-32.
    assert set(MODELS) >= {"conv", "conv_sb3", "coordconv", "lrlc1", "lrlcall", "lrlc3_id"}
    assert {"lc1", "lc2", "lc3", "wide3", "ns3"} <= set(main.models)
    assert main.seeds == [0, 1, 2, 3, 4]
    assert main.ranks_of("lrlc3") == [1, 2, 4, 8, 16, 32]
    # Each dataset's grid extended where its own validation chose the largest rank
    assert main.ranks_of("lrlc2") == [1, 2, 4, 8, 16, 32, 64]
    assert main.ranks_of("lrlcall") == [1, 2, 4, 8, 16, 32]
    assert main.ranks_of("lrlc3_id") == [1, 2, 4, 8, 16, 32]
    fashion = next(s for s in CONVERGED.sweeps if s.name == "fashion_mnist")
    assert fashion.grid().ranks_of("lrlcall") == [1, 2, 4, 8, 16]
    assert fashion.grid().ranks_of("lrlc2") == [1, 2, 4, 8, 16, 32, 64]
    assert fashion.grid().ranks_of("lrlc3") == [1, 2, 4, 8, 16, 32, 64]
    assert fashion.grid().ranks_of("lrlc1") == [1, 2, 4, 8, 16, 32]
    assert fashion.grid().ranks_of("lrlc3_id") == [1, 2, 4, 8, 16, 32]
    assert "Extended" in CONVERGED.sweeps[0].note and "input-dependent LRLC to 16" in fashion.note
    assert all(len(main.ranks_of(m)) >= 4 for m in main.models if uses_rank(m))
    assert main.base.val_every == 0 and main.base.precision == "fp32"
    assert all("trimmed" in s.note for s in CONVERGED.sweeps)  # every caption says so
    ablations = {s.label: s.grid().base.layer_kwargs for s in CONVERGED.links("mnist")}
    assert ablations["init random"] == {"init": "random"}
    assert ablations["full combining"] == {"combining": "full"}
    # Ablation grids start at 2 and are extended per sweep, with the reason in the caption.
    by_name = {s.name: s for s in CONVERGED.sweeps}
    full = by_name["fashion_mnist_full_combining"]
    assert full.grid().ranks_of("lrlc3") == [2, 4, 8, 16, 32, 64] and "rank 64" in full.note
    assert by_name["mnist_full_combining"].grid().ranks_of("lrlc3") == [2, 4, 8, 16, 32]
    assert by_name["fashion_mnist_init_random"].grid().ranks_of("lrlc3") == [2, 4, 8, 16, 32]
    canvases = {s.grid().base.canvas for s in CONVERGED.sweeps if s.label.endswith("canvas")}
    assert canvases == {"centre:42", "random:42"}
    # Every sweep shares one protocol, so the linked rows compare layers, not protocols; the
    # canvas pair trains twice as long (both halves alike) and says so in its link.
    shared = [k for k in SHARED if k != "dataset"]

    def protocol(sweeps):
        return {tuple(s.grid().base.to_dict()[k] for k in shared) for s in sweeps}

    pair = [s for s in CONVERGED.sweeps if s.label.endswith("canvas")]
    rest = [s for s in CONVERGED.sweeps if s not in pair]
    assert len(protocol(rest)) == 1 and len(protocol(pair)) == 1
    assert {s.grid().base.epochs for s in pair} == {48} and rest[0].grid().base.epochs == 24
    assert all(s.link_protocol == ("epochs",) for s in pair)
    assert not any(s.link_protocol for s in rest)


def test_a_link_to_a_missing_sweep_is_refused():
    with pytest.raises(ValueError, match="links to 'nope'"):
        Preset("bad", "", (SweepPlan("a", "mnist", ("conv",), (1,), (0,), link_to="nope"),))
