import re
import shutil

import numpy as np
import pytest
import torch
from PIL import Image

from lrlc.data import load_celeba_raw, load_dataset
from lrlc.data.celeba import cache_path, preprocess_image, read_attribute

from .datafakes import celeba_image, make_celeba


def test_crop_box_is_rows_40_to_177_cols_20_to_157():
    image = Image.fromarray(celeba_image((200, 30, 90), (0, 0, 255)))
    out = preprocess_image(image)
    assert out.shape == (32, 32, 3) and out.dtype == np.uint8
    # Only the box survives the crop: the result is uniform in the box colour.
    assert np.abs(out.astype(int) - [200, 30, 90]).max() <= 1
    expected = Image.fromarray(np.asarray(image)[40:178, 20:158]).resize((32, 32), Image.BICUBIC)
    np.testing.assert_array_equal(out, np.asarray(expected))


@pytest.mark.parametrize("dy, dx", [(-1, 0), (1, 0), (0, -1), (0, 1)])
def test_a_one_pixel_shift_of_the_box_would_be_seen(dy, dx):
    # Guards the test above: an off-by-one crop would let the outside colour in.
    array = np.zeros((218, 178, 3), np.uint8)
    array[:] = (0, 0, 255)
    array[40 + dy : 178 + dy, 20 + dx : 158 + dx] = (200, 30, 90)
    out = preprocess_image(Image.fromarray(array))
    assert np.abs(out.astype(int) - [200, 30, 90]).max() > 10


def test_corner_markers_land_in_the_corners():
    array = np.zeros((218, 178, 3), np.uint8)
    array[40:48, 20:28] = 255  # top-left of the crop box
    array[170:178, 150:158, 0] = 255  # bottom-right, red only
    array[:40] = array[178:] = 128  # outside the box: must not show up
    out = preprocess_image(Image.fromarray(array)).astype(int)
    assert out[0, 0].min() > 200 and out[31, 31, 0] > 200 and out[31, 31, 1] < 30
    assert out[15:17, 15:17].max() == 0 and out[0, 31].max() < 30 and out[31, 0].max() < 30


def test_wrong_image_size_is_refused():
    with pytest.raises(ValueError, match="expected the aligned 178 x 218"):
        preprocess_image(Image.new("RGB", (218, 178)), where="000001.jpg")


PARTITION = [0, 0, 0, 0, 1, 1, 2, 2, 2]


@pytest.mark.parametrize("as_zip", [False, True])
def test_celeba_files_to_arrays(tmp_path, as_zip):
    colours, male = make_celeba(tmp_path / "celeba", PARTITION, as_zip=as_zip)
    raw = load_celeba_raw(tmp_path, download=False)
    part = np.array(PARTITION)
    for split, code in (("train", 0), ("val", 1), ("test", 2)):
        images, labels = raw.splits[split]
        wanted = np.flatnonzero(part == code)
        assert images.shape == (len(wanted), 32, 32, 3) and images.dtype == np.uint8
        np.testing.assert_array_equal(labels, np.array(male)[wanted])
        for image, i in zip(images, wanted, strict=True):
            # JPEG (4:4:4, quality 100) leaves a few levels of error at most.
            assert np.abs(image.astype(int) - colours[i]).max() <= 8, (split, i)


def test_preprocessed_cache_is_written_and_reused(tmp_path):
    make_celeba(tmp_path / "celeba", PARTITION)
    first = load_celeba_raw(tmp_path)
    cache = cache_path(tmp_path / "celeba")
    assert cache.is_file() and cache.name in first.source
    shutil.rmtree(tmp_path / "celeba" / "img_align_celeba")  # the cache must suffice now
    second = load_celeba_raw(tmp_path)
    for split in ("train", "val", "test"):
        np.testing.assert_array_equal(first.splits[split][0], second.splits[split][0])
        np.testing.assert_array_equal(first.splits[split][1], second.splits[split][1])


def test_load_dataset_celeba32(tmp_path):
    colours, male = make_celeba(tmp_path / "celeba", PARTITION, as_zip=True)
    ds = load_dataset("celeba32", data_dir=tmp_path, download=False)
    assert ds.sizes() == {"train": 4, "val": 2, "test": 3}
    assert ds.num_classes == 2 and ds.input_shape == (3, 32, 32)
    images, labels = ds.test
    assert images.shape == (3, 3, 32, 32) and images.dtype == torch.float32
    assert labels.tolist() == male[6:]
    assert 0.0 <= float(images.min()) and float(images.max()) <= 1.0
    mean_colour = images[0].mean(dim=(1, 2)) * 255
    assert torch.allclose(mean_colour, torch.tensor(colours[6], dtype=torch.float32), atol=8)
    assert ds.protocol["val"] == "official validation partition"


def test_attribute_file_validation(tmp_path):
    make_celeba(tmp_path, [0, 0, 2])
    assert read_attribute(tmp_path / "list_attr_celeba.txt") == {
        "000001.jpg": 1,
        "000002.jpg": 0,
        "000003.jpg": 1,
    }
    lines = (tmp_path / "list_attr_celeba.txt").read_text().splitlines()
    (tmp_path / "list_attr_celeba.txt").write_text("\n".join(lines[:-1]) + "\n")
    with pytest.raises(ValueError, match="2 rows, the header says 3"):
        read_attribute(tmp_path / "list_attr_celeba.txt")


def test_image_missing_from_the_folder(tmp_path):
    make_celeba(tmp_path / "celeba", PARTITION)
    (tmp_path / "celeba" / "img_align_celeba" / "000005.jpg").unlink()
    with pytest.raises(ValueError, match="000005.jpg.*download it again"):
        load_celeba_raw(tmp_path)


# Image names from the list files are joined to the image folder: one that leads outside it
# must be refused, not read. Image 3 (line 3 of the partition file) gets the bad name.
OUTSIDE = "outside.jpg"


def rename_entry(path, line_no, name):
    """Replace the file name on line `line_no` (1-based) of a list file."""
    lines = path.read_text().splitlines()
    fields = lines[line_no - 1].split(" ", 1)
    lines[line_no - 1] = " ".join([name, *fields[1:]])
    path.write_text("\n".join(lines) + "\n")


def plant_outside_image(celeba):
    """A valid CelebA image next to the image folder, where a '../' entry would find it."""
    image = celeba / "img_align_celeba" / "000003.jpg"
    (celeba / OUTSIDE).write_bytes(image.read_bytes() if image.exists() else b"")
    return celeba / OUTSIDE


UNSAFE_NAMES = [
    (f"../{OUTSIDE}", "contains '..'"),
    ("..", "contains '..'"),
    (f"..\\{OUTSIDE}", "contains '..'"),
    ("img_align_celeba/000003.jpg", "contains a path separator"),
    ("sub\\000003.jpg", "contains a path separator"),
    (".", "names the folder itself"),
    ("C:000003.jpg", "is an absolute path or names a drive"),
    ("ABSOLUTE", "is an absolute path"),  # replaced by the planted file's absolute path
]


@pytest.mark.parametrize("as_zip", [False, True])
@pytest.mark.parametrize("name,problem", UNSAFE_NAMES)
def test_unsafe_partition_entry_is_refused(tmp_path, name, problem, as_zip):
    celeba = tmp_path / "celeba"
    make_celeba(celeba, PARTITION)  # the folder, to plant a readable image next to it
    outside = plant_outside_image(celeba)
    if as_zip:
        shutil.rmtree(celeba / "img_align_celeba")
        make_celeba(celeba, PARTITION, as_zip=True)
    name = str(outside) if name == "ABSOLUTE" else name
    # Renamed in both lists, so that without the check the outside image loads silently.
    rename_entry(celeba / "list_eval_partition.txt", 3, name)
    rename_entry(celeba / "list_attr_celeba.txt", 5, name)
    pattern = (
        rf"list_eval_partition\.txt:3: image name {re.escape(repr(name))} {re.escape(problem)}"
        r".*fix the entry or download list_eval_partition\.txt again"
    )
    with pytest.raises(ValueError, match=pattern):
        load_celeba_raw(tmp_path)
    assert not cache_path(celeba).exists()


@pytest.mark.parametrize("name", [f"../{OUTSIDE}", "/tmp/000001.jpg", "a/000001.jpg"])
def test_unsafe_attribute_entry_is_refused(tmp_path, name):
    make_celeba(tmp_path, [0, 0, 2])
    rename_entry(tmp_path / "list_attr_celeba.txt", 4, name)  # two header lines, then images
    pattern = (
        rf"list_attr_celeba\.txt:4: image name {re.escape(repr(name))} "
        r".*download list_attr_celeba\.txt again"
    )
    with pytest.raises(ValueError, match=pattern):
        read_attribute(tmp_path / "list_attr_celeba.txt")


def test_image_linked_from_outside_the_folder_is_refused(tmp_path):
    # A plain name passes the name check but may still lead out through a symbolic link.
    celeba = tmp_path / "celeba"
    make_celeba(celeba, PARTITION)
    outside = plant_outside_image(celeba)
    image = celeba / "img_align_celeba" / "000003.jpg"
    image.unlink()
    try:
        image.symlink_to(outside)
    except OSError:
        pytest.skip("no symbolic links here")
    with pytest.raises(ValueError, match=r"'000003.jpg' resolves to .*outside\.jpg, outside"):
        load_celeba_raw(tmp_path)


def test_linked_image_folder_still_loads(tmp_path):
    # Only links that leave the folder are refused: a linked folder, e.g. on another disk, is
    # the folder itself.
    make_celeba(tmp_path / "elsewhere", PARTITION)
    celeba = tmp_path / "data" / "celeba"
    celeba.mkdir(parents=True)
    for name in ("list_attr_celeba.txt", "list_eval_partition.txt"):
        shutil.copy(tmp_path / "elsewhere" / name, celeba / name)
    try:
        (celeba / "img_align_celeba").symlink_to(tmp_path / "elsewhere" / "img_align_celeba")
    except OSError:
        pytest.skip("no symbolic links here")
    raw = load_celeba_raw(tmp_path / "data")
    assert len(raw.splits["train"][0]) == 4
