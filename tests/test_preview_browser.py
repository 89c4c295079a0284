"""The preview page in Debian's headless Chromium, on a live ``medtalk stream --file ...
--preview`` of real speech and on ``medtalk preview`` of its recording (bridge/preview*.py,
bridge/preview_static/, bridge/playback.py).

The stream runs with ``--fast`` (frames sent as made): on a shared, loaded CPU a real-time stream
drops the frames it cannot make in time, and every test here needs frames to look at.

With ``MEDTALK_PREVIEW_SHOTS=DIR`` set, the live and playback pages are also saved as
``DIR/preview-live.png`` and ``DIR/preview-playback.png`` (the pictures of docs/preview.md).
"""

import asyncio
import io
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from test_preview import check_frame_message
from test_stream import free_port, speech_clip

from medtalk_core import rig

CHROME_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--no-first-run", "--window-size=1280,960")
JAW = rig.INDEX["CTRL_C_jaw-translateY"]
MOUTH_BOX = (96, 250, 224, 352)  # px of the 320 x 400 face, around the lips and the chin
SHOTS = os.environ.get("MEDTALK_PREVIEW_SHOTS")


def wait_for(condition, timeout: float = 30.0, what: str = "the page"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture(scope="module")
def browser():
    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if not (chromium and driver):
        pytest.skip("chromium and chromium-driver are not installed")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in CHROME_FLAGS:
        options.add_argument(flag)
    chrome = webdriver.Chrome(options=options, service=Service(driver))
    yield chrome
    chrome.quit()


class WsRecorder(threading.Thread):
    """A plain WebSocket client of the page's /ws, keeping every message until the server
    goes away."""

    def __init__(self, url: str):
        super().__init__(daemon=True)
        self.url, self.messages = url, []

    def run(self):
        from websockets.asyncio.client import connect

        async def record():
            for _ in range(200):
                try:
                    async with connect(self.url) as ws:
                        async for text in ws:
                            self.messages.append(json.loads(text))
                        return
                except OSError:
                    await asyncio.sleep(0.1)

        asyncio.run(record())


@pytest.fixture(scope="module")
def live(tmp_path_factory, browser):
    """A stream of 6 s of real English speech with the preview page open in Chromium."""
    folder = tmp_path_factory.mktemp("preview")
    clip, _ = speech_clip(folder, 6.0)
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    recording = folder / "recording.txt"
    stream = subprocess.Popen(
        [sys.executable, "-m", "medtalk.cli", "stream", "--file", clip, "--fast",
         "--emotion", "neutral", "--intensity", "1.2", "--no-osc", "--preview", f"127.0.0.1:{port}", "--record", str(recording),
         "--control", f"127.0.0.1:{free_port()}"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    client = WsRecorder(url.replace("http", "ws") + "ws")
    client.start()

    def page_loaded():
        try:
            browser.get(url)
        except Exception:  # noqa: BLE001 - not served yet
            return False
        return browser.execute_script("return window.preview && window.preview.hello !== null")

    try:
        wait_for(page_loaded, 30, "the page to load")
        yield {"stream": stream, "url": url, "client": client, "clip": clip,
               "recording": recording}
    finally:
        if stream.poll() is None:
            stream.send_signal(signal.SIGTERM)
        stream.communicate(timeout=30)


def page_frames(browser) -> list[dict]:
    return browser.execute_script("return window.preview.messages")


def test_page_loads_from_a_live_stream_and_frames_arrive_in_order(live, browser):
    hello = browser.execute_script("return window.preview.hello")
    assert hello["mode"] == "live" and hello["control"] is True
    assert len(browser.find_elements("css selector", "#board .ctl")) == rig.NUM_CONTROLS
    groups = [e.get_attribute("data-group")
              for e in browser.find_elements("css selector", "#board .group")]
    assert groups[:3] == ["brows", "eyes", "cheeks"] and "tongue" in groups
    frames = wait_for(lambda: len(page_frames(browser)) >= 5 and page_frames(browser), 40,
                      "5 frames")
    numbers = [m["frame"] for m in frames]
    assert numbers == sorted(set(numbers))
    for m in frames:
        assert len(m["values"]) == rig.NUM_CONTROLS
        assert all(math.isfinite(v) for v in m["values"]) and math.isfinite(m["intensity"])
    shapes = browser.find_elements("css selector", "#face polygon, #face polyline")
    assert len(shapes) == len(frames[-1]["face"])
    assert browser.find_element("id", "frame").text.isdigit()
    assert browser.find_element("id", "scale-value").text == "1.20"  # the stream's --intensity


def test_clicking_happy_changes_the_emotion_of_the_next_frames(live, browser):
    assert page_frames(browser)[-1]["emotion"] == "neutral"
    clicked_after = page_frames(browser)[-1]["frame"]
    browser.find_element("css selector", "button[data-emotion=happy]").click()
    wait_for(lambda: page_frames(browser)[-1]["emotion"] == "happy", 10, "a happy frame")
    after = [m for m in page_frames(browser) if m["frame"] > clicked_after]
    first_happy = next(i for i, m in enumerate(after) if m["emotion"] == "happy")
    assert all(m["emotion"] == "happy" for m in after[first_happy:])
    assert browser.execute_script("return window.preview.sent")[-1] == {
        "type": "control", "address": "/medtalk/emotion", "args": ["happy"]}
    active = browser.find_element("css selector", "#emotions button.active")
    assert active.text == "happy"


def mouth_pixels(browser, message: dict) -> np.ndarray:
    from PIL import Image

    browser.execute_script("window.preview.show(arguments[0])", message)
    png = browser.find_element("id", "face").screenshot_as_png
    image = Image.open(io.BytesIO(png)).convert("L").resize((320, 400))
    return np.asarray(image.crop(MOUTH_BOX), np.float32)


def test_an_open_vowel_frame_and_a_silent_frame_differ_in_the_mouth(live, browser):
    wait_for(lambda: len(page_frames(browser)) >= 60, 30, "60 frames")
    frames = page_frames(browser)
    jaw = np.array([m["values"][JAW] for m in frames])
    vowel, silence = frames[int(jaw.argmax())], frames[int(jaw.argmin())]
    assert vowel["values"][JAW] - silence["values"][JAW] > 0.15
    browser.execute_script("window.preview.hold = true")
    try:
        open_, closed = mouth_pixels(browser, vowel), mouth_pixels(browser, silence)
        again = mouth_pixels(browser, vowel)
    finally:
        browser.execute_script("window.preview.hold = false")
    assert np.abs(open_ - again).mean() < 0.5  # the same frame draws the same
    changed = np.abs(open_ - closed) > 40
    assert changed.mean() > 0.03  # the open mouth (dark inside, teeth, lower lip) shows


def test_every_websocket_message_of_the_live_stream_follows_the_schema(live, browser):
    if SHOTS:
        wait_for(lambda: page_frames(browser)[-1]["t"] > 4.5, 20, "4.5 s of stream")
        browser.save_screenshot(str(Path(SHOTS) / "preview-live.png"))
    stream = live["stream"]
    if stream.poll() is None:
        stream.send_signal(signal.SIGTERM)
    _, err = stream.communicate(timeout=30)
    assert stream.returncode == 0, err
    live["client"].join(10)
    messages = live["client"].messages
    assert messages[0]["type"] == "hello" and messages[0]["names"] == list(rig.CONTROL_NAMES)
    frames = messages[1:]
    assert len(frames) >= 30
    numbers = [m["frame"] for m in frames]
    assert numbers == sorted(set(numbers))
    for m in frames:
        check_frame_message(m)
        assert m["emotion"] in ("neutral", "happy") and isinstance(m["transcript"], str)
        assert set(m["state"]) == {"intensity_scale", "frozen", "blinks"}


def test_medtalk_preview_plays_the_recording_with_its_audio(live, browser):
    port = free_port()
    player = subprocess.Popen(
        [sys.executable, "-m", "medtalk.cli", "preview", str(live["recording"]),
         "--audio", live["clip"], "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        def loaded():
            try:
                browser.get(f"http://127.0.0.1:{port}/")
            except Exception:  # noqa: BLE001 - not served yet
                return False
            return browser.execute_script("return window.preview.hello !== null")

        wait_for(loaded, 20, "the playback page")
        hello = browser.execute_script("return window.preview.hello")
        assert hello["mode"] == "playback" and hello["audio"] is True and hello["frames"] > 60
        wait_for(lambda: not browser.execute_script("return playback.pending"), 10,
                 "the audio to start or refuse")
        if not browser.execute_script("return playback.playing"):
            browser.find_element("id", "play").click()  # autoplay refused: press play
        wait_for(lambda: browser.execute_script("return playback.playing"), 10, "playing")
        wait_for(lambda: len({m["frame"] for m in page_frames(browser)}) >= 15, 20,
                 "15 frames of playback")
        audio_time = browser.execute_script("return document.getElementById('audio').currentTime")
        assert audio_time > 0
        numbers = [m["frame"] for m in page_frames(browser)]
        assert numbers == sorted(numbers) and numbers[-1] > numbers[0]
        if SHOTS:
            browser.save_screenshot(str(Path(SHOTS) / "preview-playback.png"))
        browser.refresh()  # a reload: a new connection, the same player
        wait_for(lambda: browser.execute_script("return window.preview.hello !== null"), 20,
                 "the page after a reload")
        wait_for(lambda: not browser.execute_script("return playback.pending"), 10,
                 "the audio to start or refuse")
        if browser.execute_script("return playback.playing"):
            browser.find_element("id", "play").click()  # pause, then scrub to frame 30
        browser.execute_script("const s = document.getElementById('scrub'); s.value = 30;"
                               "s.dispatchEvent(new Event('input'));")
        wait_for(lambda: page_frames(browser)[-1]["frame"] == 30, 10, "frame 30 after a seek")
    finally:
        player.send_signal(signal.SIGTERM)
        _, err = player.communicate(timeout=20)
    assert player.returncode == 0, err
