"""Fields added to TrainConfig after runs were recorded leave those runs' identities alone."""

import pytest

from lrlc.experiments.config import TrainConfig


def test_runs_without_the_later_fields_keep_their_hashes():
    # The hashes these configs had before `canvas` and `val_every` existed.
    assert TrainConfig().run_id() == "3c9e4548410f"
    reduced = TrainConfig.from_preset(
        "paper", dataset="fashion_mnist", model="lrlc3", rank=4, epochs=5, train_size=3000,
        translate=4,
    )  # fmt: skip
    assert reduced.run_id() == "0badbf06529b"


def test_the_later_fields_are_part_of_the_identity_when_used():
    ids = {
        TrainConfig().run_id(),
        TrainConfig(canvas="random:42").run_id(),
        TrainConfig(canvas="centre:42").run_id(),
        TrainConfig(val_every=0).run_id(),
    }
    assert len(ids) == 4
    assert TrainConfig(canvas="random:42").protocol() == "paper preset; canvas=random:42"
    old = TrainConfig().to_dict()
    del old["canvas"], old["val_every"]  # a record written before they existed
    assert TrainConfig.from_dict(old) == TrainConfig()


@pytest.mark.parametrize(
    "kw, match", [({"canvas": "random"}, "PLACEMENT:SIZE"), ({"val_every": -1}, "val_every")]
)
def test_bad_later_fields(kw, match):
    with pytest.raises(ValueError, match=match):
        TrainConfig(**kw)
