"""--record (bridge/recorder.py): every frame written as it is sent to a temporary file beside the
target, readable at any time (TXT, CSV) and renamed onto the target by close, by
medtalk_core.rigio.read_rig; a full disk stops only the recording."""

import os

import numpy as np
import pytest

from bridge.protocol import Frame
from bridge.recorder import Recorder
from medtalk_core import rig
from medtalk_core.errors import MedtalkError
from medtalk_core.rigio import read_rig


def frames(n: int) -> list[Frame]:
    rng = np.random.default_rng(0)
    values = rig.clip_to_range(rng.uniform(-1, 1, (n, rig.NUM_CONTROLS)))
    return [Frame(i, i / 60, 1700000000.0, values[i], "happy", 0.1) for i in range(n)]


@pytest.mark.parametrize("ext", [".txt", ".csv", ".json"])
def test_every_frame_is_written_and_the_file_reads_back(tmp_path, ext):
    path = tmp_path / f"rec{ext}"
    rec = Recorder(path)
    sent = frames(25)
    for k, f in enumerate(sent):
        rec.send_frame(f)
        if ext != ".json" and k in (0, 11):  # flushed as it goes: complete after every frame
            assert len(read_rig(rec.temp_path)) == k + 1
    assert not path.exists()
    rec.close()
    assert not rec.temp_path.exists() and list(tmp_path.iterdir()) == [path]
    got = read_rig(path)
    np.testing.assert_allclose(got, np.stack([f.values for f in sent]), atol=1e-6)
    if ext == ".csv":
        first = path.read_text().splitlines()[2].split(",")[0]
        assert float(first) == pytest.approx(1 / 60, abs=1e-6)


@pytest.mark.filterwarnings("ignore:loadtxt")
def test_empty_recording_is_valid(tmp_path):
    for ext in (".txt", ".csv", ".json"):
        rec = Recorder(tmp_path / f"empty{ext}")
        rec.close()
        assert read_rig(tmp_path / f"empty{ext}").shape == (0, rig.NUM_CONTROLS)


def test_bad_record_path_is_a_one_line_error(tmp_path):
    with pytest.raises(MedtalkError, match="unknown format"):
        Recorder(tmp_path / "rec.wav")
    with pytest.raises(MedtalkError, match="cannot create"):
        Recorder(tmp_path / "no" / "such" / "dir.txt")


def _fill_the_disk(path) -> None:
    """Make every later write to the open file ``path`` fail with ENOSPC (/dev/full)."""
    fd = next(int(n) for n in os.listdir("/proc/self/fd")
              if os.path.realpath(f"/proc/self/fd/{n}") == str(path))
    full = os.open("/dev/full", os.O_WRONLY)
    os.dup2(full, fd)
    os.close(full)


def test_full_disk_stops_the_recording_not_the_stream(tmp_path):
    target = tmp_path / "full.txt"
    target.write_text("an earlier recording\n")
    rec = Recorder(target)
    _fill_the_disk(rec.temp_path)
    for f in frames(5):
        rec.send_frame(f)
    rec.close()
    assert sum(rec.problems.values()) == 1 and rec.frames == 5
    assert target.read_text() == "an earlier recording\n"  # nothing half-written
    assert list(tmp_path.iterdir()) == [target]
