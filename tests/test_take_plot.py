"""`medtalk infer --plot`: the take's curves and words as a PNG, on real English speech."""

import numpy as np
import pytest
from PIL import Image

from conftest import run_medtalk
from medtalk_core import rig, rigio
from medtalk_core.take_plot import (PLOT_HEIGHT_PX, PLOT_WIDTH_PX, take_figure, take_series,
                                    write_plot)


@pytest.fixture(scope="module")
def plotted(english_clip, tmp_path_factory):
    """``(rig frames, PNG path)`` of ``medtalk infer --plot`` on 3 s of real English."""
    out = tmp_path_factory.mktemp("plot")
    r = run_medtalk("infer", str(english_clip), "--emotion", "happy", "-o", str(out / "take.txt"),
                    "--plot", str(out / "take.png"))
    assert r.returncode == 0, r.stderr
    return rigio.read_rig(out / "take.txt"), out / "take.png"


def test_infer_writes_a_png_of_the_figure_size(plotted):
    frames, png = plotted
    assert len(frames) == 180
    with Image.open(png) as im:
        assert im.format == "PNG" and im.size == (PLOT_WIDTH_PX, PLOT_HEIGHT_PX)
        pixels = np.asarray(im.convert("L"))
    assert pixels.std() > 10, "the figure is blank"
    assert [p.name for p in png.parent.iterdir() if p.name.startswith(".")] == []


def lines(fig) -> dict:
    return {ln.get_label(): ln for ax in fig.axes for ln in ax.get_lines()
            if not ln.get_label().startswith("_")}


def test_the_plotted_jaw_is_the_result_jaw_column(plotted):
    frames, _ = plotted
    intensity = rig.intensity(frames)
    drawn = lines(take_figure(take_series(frames, intensity)))
    jaw = drawn["jaw"]
    np.testing.assert_array_equal(jaw.get_ydata(), frames[:, rig.INDEX["CTRL_C_jaw-translateY"]])
    np.testing.assert_allclose(jaw.get_xdata(), np.arange(180) / 60)
    np.testing.assert_array_equal(drawn["intensity"].get_ydata(), intensity)
    assert set(drawn) == {"jaw", "lip closure", "funnel", "purse", "corners", "brows", "intensity"}


def test_series_of_known_controls():
    frames = np.zeros((3, 174), np.float32)
    for side in "LR":
        frames[:, rig.INDEX[f"CTRL_{side}_mouth_cornerPull-translateY"]] = 0.8
        frames[:, rig.INDEX[f"CTRL_{side}_mouth_cornerDepress-translateY"]] = 0.2
        frames[:, rig.INDEX[f"CTRL_{side}_mouth_funnelU-translateY"]] = 1.0
        frames[:, rig.INDEX[f"CTRL_{side}_brow_down-translateY"]] = 0.5
    s = take_series(frames, np.ones(3))
    np.testing.assert_allclose(s.curves["corners"], 0.6, atol=1e-6)
    np.testing.assert_allclose(s.curves["funnel"], 0.5)
    np.testing.assert_allclose(s.curves["brows"], -0.5)
    np.testing.assert_allclose(s.curves["lip closure"], 0.0)


def test_words_sit_under_the_curves_at_their_times(tmp_path):
    s = take_series(np.zeros((120, 174)), np.zeros(120), ["hello", "there"],
                    [(0.25, 0.75), (1.0, 1.5)])
    fig = take_figure(s)
    texts = {t.get_text(): t.get_position()[0] for t in fig.axes[-1].texts}
    assert texts == {"hello": 0.5, "there": 1.25}
    write_plot(tmp_path / "w.png", s)
    with Image.open(tmp_path / "w.png") as im:
        assert im.size == (PLOT_WIDTH_PX, PLOT_HEIGHT_PX)


@pytest.mark.parametrize("plot, needle", [("missing/fig.png", "folder does not exist"),
                                          ("fig.jpg", ".png"), ("dir.png", "is a folder")])
def test_bad_plot_path_is_a_one_line_error_before_any_work(tmp_path, capsys, plot, needle):
    from medtalk.cli import main

    out = tmp_path / "take.txt"
    if plot == "dir.png":
        (tmp_path / plot).mkdir()
    code = main(["infer", "/usr/share/codec2/raw/speech_orig_16k.wav", "--emotion", "happy",
                 "-o", str(out), "--plot", str(tmp_path / plot)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and needle in err[0], err
    assert not out.exists()
