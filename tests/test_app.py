"""The web app as a user drives it: `mouthsynth app` started on a local port (127.0.0.1 only),
used through its HTTP API (gradio_client) on real photos and a real clip from ../shared, and,
where Debian's chromium is installed, through the page itself in a headless browser."""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

pytest.importorskip("gradio")
gradio_client = pytest.importorskip("gradio_client")

from mouthsynth.app.work import TRAIN_EXTRA_MISSING, Workbench, training_available  # noqa: E402
from mouthsynth.errors import MouthSynthError  # noqa: E402
from mouthsynth.io.images import read_image  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
OPEN_PHOTO = "stargan-v2_006930.jpg"
CLOSED_PHOTO = "stargan-v2_005735.jpg"
NO_FACE = "liveportrait_s41.jpg"  # a cat
CLIP = "V-Express_RD_Radio10_0_clip_0.mp4"  # 2.1 s, 512 px, talking, with audio
LONG_CLIP = "liveportrait_d18.mp4"  # 7.2 s
FOOTAGE = "dreamtalk_W011_front_happy_level3_001.mp4"  # one person, 4 s
MAX_VIDEO_S = 5
MAX_UPLOAD_MB = 8


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _cut(src: Path, dst: Path, seconds: float) -> Path:
    """The first ``seconds`` of a video, streams copied (no re-encoding), audio included."""
    import av

    with av.open(str(src)) as inp, av.open(str(dst), "w") as out:
        streams = {}
        for s in inp.streams:
            if s.type in ("video", "audio"):
                streams[s.index] = out.add_stream_from_template(s)
        for packet in inp.demux(*[inp.streams[i] for i in streams]):
            if packet.dts is None:
                continue
            if packet.pts is not None and float(packet.pts * packet.time_base) >= seconds:
                continue
            packet.stream = streams[packet.stream.index]
            out.mux(packet)
    return dst


@pytest.fixture(scope="module")
def clip(tmp_path_factory, videos_dir) -> Path:
    return _cut(videos_dir / CLIP, tmp_path_factory.mktemp("clip") / "speaker.mp4", 2.0)


class Server:
    def __init__(self, args: list[str]):
        self.port = _free_port()
        cmd = [sys.executable, "-m", "mouthsynth.cli.main", "app", "--port", str(self.port), *args]
        env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False"}
        self.proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=REPO
        )
        self.stderr: list[str] = []
        threading.Thread(target=self._drain, daemon=True).start()
        self.url = self._wait_for_url()

    def _drain(self):
        for line in self.proc.stderr:
            self.stderr.append(line)

    def _wait_for_url(self, timeout: float = 180.0) -> str:
        deadline = time.monotonic() + timeout
        box: list[str] = []
        reader = threading.Thread(target=lambda: box.append(self.proc.stdout.readline()), daemon=True)
        reader.start()
        while time.monotonic() < deadline and reader.is_alive() and self.proc.poll() is None:
            time.sleep(0.2)
        if not box or not box[0].startswith("http"):
            self.stop()
            pytest.fail(f"the app did not start: {''.join(self.stderr)[-3000:]}")
        return box[0].strip()

    @property
    def root(self) -> Path:
        found = re.search(r"temporary files in (\S+)", "".join(self.stderr))
        assert found, self.stderr
        return Path(found.group(1))

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


@pytest.fixture(scope="module")
def server(photos_dir):
    srv = Server(
        [
            "--samples",
            str(photos_dir / OPEN_PHOTO),
            "--max-video-seconds",
            str(MAX_VIDEO_S),
            "--max-upload-mb",
            str(MAX_UPLOAD_MB),
        ]
    )
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def client(server, tmp_path_factory):
    return gradio_client.Client(server.url, verbose=False, download_files=str(tmp_path_factory.mktemp("dl")))


def _cli_error(path: Path, tmp_path: Path) -> str:
    """The one-line error `mouthsynth inpaint` prints for this file, with the path as its name."""
    from mouthsynth.cli.inpaint import command

    app = typer.Typer()
    app.command()(command)
    result = CliRunner().invoke(app, [str(path), "-o", str(tmp_path / "cli_out.png")])
    assert result.exit_code == 1
    line = next(ln for ln in result.output.splitlines() if ln.startswith("error: "))
    return line.removeprefix("error: ").replace(str(path), path.name)


def _app_error(call) -> str:
    with pytest.raises(gradio_client.exceptions.AppError) as info:
        call()
    message = info.value.message if hasattr(info.value, "message") else str(info.value)
    assert "\n" not in message
    return message


# --- the server ---------------------------------------------------------------------------------


def test_listens_on_localhost_by_default(server):
    assert server.url.startswith("http://127.0.0.1:")
    import inspect

    from mouthsynth.cli.app import command

    assert inspect.signature(command).parameters["host"].default == "127.0.0.1"


def test_image_upload_gives_result_and_mask(client, photos_dir):
    from mouthsynth.inference.synthesizer import MouthSynthesizer

    photo = photos_dir / OPEN_PHOTO
    result_path, mask_path, status = client.predict(
        gradio_client.handle_file(str(photo)), None, "alpha", "shipped", api_name="/inpaint"
    )
    assert status == f"{OPEN_PHOTO}: 1 of 1 face(s) filled (alpha blend)"
    original, result, mask = read_image(photo), read_image(Path(result_path)), read_image(Path(mask_path))
    assert result.shape == original.shape and mask.shape == original.shape
    painted = mask[..., 0] > 0
    assert 0 < painted.sum() < 0.05 * painted.size
    changed = (result != original).any(axis=2)
    assert changed.any() and not (changed & ~painted).any(), "pixels outside the mask changed"
    # The page shows what the Python API gives.
    expected = MouthSynthesizer()(original).image
    assert np.abs(result.astype(int) - expected.astype(int)).mean() < 0.5


def test_sample_with_poisson_blend(client):
    _, mask_path, status = client.predict(None, OPEN_PHOTO, "poisson", "shipped", api_name="/inpaint")
    assert status.endswith("(poisson blend)")
    assert read_image(Path(mask_path)).max() == 255
    _, _, status = client.predict(None, "astronaut (scikit-image)", "alpha", "shipped", api_name="/inpaint")
    assert status.startswith("astronaut (scikit-image): 1 of 1 face(s) filled")


@pytest.mark.parametrize("case", ["corrupt", "no_face", "closed"])
def test_bad_image_gets_the_cli_one_line_message(case, client, photos_dir, tmp_path):
    if case == "corrupt":
        path = tmp_path / "broken.jpg"
        path.write_bytes(b"\xff\xd8\xff\xe0 truncated jpeg")
    else:
        path = photos_dir / (NO_FACE if case == "no_face" else CLOSED_PHOTO)
    message = _app_error(
        lambda: client.predict(
            gradio_client.handle_file(str(path)), None, "alpha", "shipped", api_name="/inpaint"
        )
    )
    assert message == _cli_error(path, tmp_path)
    assert message.startswith(f"{path.name}: ")


def test_video_keeps_frames_and_audio(client, clip):
    from mouthsynth.io.video import VideoReader

    out, status = client.predict(gradio_client.handle_file(str(clip)), "alpha", "shipped", api_name="/video")
    out = Path(out["video"] if isinstance(out, dict) else out)
    with VideoReader(clip) as a, VideoReader(out) as b:
        assert (b.width, b.height, b.fps) == (a.width, a.height, a.fps)
        n_in, n_out = sum(1 for _ in a), sum(1 for _ in b)
        assert b.has_audio
    assert n_out == n_in > 0
    assert status.startswith(f"speaker.mp4: {n_in} frames in ")
    assert int(re.search(r"(\d+) synthesised", status).group(1)) > 0


def test_bad_and_long_videos_are_refused_in_one_line(client, videos_dir, tmp_path):
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"\x00\x00\x00\x18ftypmp42 not really a video")
    message = _app_error(
        lambda: client.predict(gradio_client.handle_file(str(broken)), "alpha", "shipped", api_name="/video")
    )
    assert message.startswith("broken.mp4: not a readable video")
    message = _app_error(
        lambda: client.predict(
            gradio_client.handle_file(str(videos_dir / LONG_CLIP)),
            "alpha",
            "shipped",
            api_name="/video",
        )
    )
    limit = f"this app takes videos up to {MAX_VIDEO_S} s (use `mouthsynth video` for longer ones)"
    assert message == f"{LONG_CLIP}: 7 s long: {limit}"


def test_uploads_are_size_limited(server, tmp_path):
    import httpx

    big = tmp_path / "big.jpg"
    big.write_bytes(os.urandom((MAX_UPLOAD_MB + 1) * 1024 * 1024))
    with big.open("rb") as fh:
        response = httpx.post(f"{server.url}gradio_api/upload", files={"files": ("big.jpg", fh)}, timeout=60)
    assert response.status_code == 413, response.text


def test_transfer_drives_a_photo_with_the_speakers_mouth(client, clip, photos_dir):
    from mouthsynth.io.video import VideoReader

    video, image, status = client.predict(
        gradio_client.handle_file(str(clip)),
        gradio_client.handle_file(str(photos_dir / CLOSED_PHOTO)),
        1.0,
        "driver",
        "shipped",
        api_name="/transfer",
    )
    assert image is None
    path = Path(video["video"] if isinstance(video, dict) else video)
    with VideoReader(clip) as a, VideoReader(path) as b:
        n_in, n_out = sum(1 for _ in a), sum(1 for _ in b)
        assert b.has_audio and (b.width, b.height) == read_image(photos_dir / CLOSED_PHOTO).shape[1::-1]
    assert n_out == n_in
    assert status.startswith(f"{CLOSED_PHOTO} driven by speaker.mp4: {n_in} frames")
    message = _app_error(
        lambda: client.predict(
            gradio_client.handle_file(str(clip)),
            gradio_client.handle_file(str(photos_dir / NO_FACE)),
            1.0,
            "driver",
            "shipped",
            api_name="/transfer",
        )
    )
    assert message == f"{NO_FACE}: no face found (in the target)"


@pytest.mark.skipif(not training_available(), reason="needs the train extra (torch)")
def test_personalise_then_use_the_personal_model(client, videos_dir, photos_dir):
    files, status, choice = client.predict(
        [gradio_client.handle_file(str(videos_dir / FOOTAGE))], 5, 1, api_name="/personalize"
    )
    assert [Path(f).suffix for f in files] == [".onnx", ".json"]
    label = f"personal 1: {Path(FOOTAGE).stem}"
    assert status.startswith(f"{label}: 1 steps on ")
    value = choice["value"] if isinstance(choice, dict) else choice  # the model choice is updated
    assert value == label
    _, _, status = client.predict(
        gradio_client.handle_file(str(photos_dir / OPEN_PHOTO)), None, "alpha", label, api_name="/inpaint"
    )
    assert status == f"{OPEN_PHOTO}: 1 of 1 face(s) filled (alpha blend)"


def test_without_the_train_extra_the_tab_says_so(monkeypatch, tmp_path):
    import mouthsynth.app.ui as ui
    import mouthsynth.app.work as work

    monkeypatch.setattr(ui, "training_available", lambda: False)
    monkeypatch.setattr(work, "training_available", lambda: False)
    bench = Workbench(root=tmp_path / "bench")
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(bench.uploads))  # restored after the test
    blocks = ui.build(bench)
    components = blocks.get_config_file()["components"]
    assert any(TRAIN_EXTRA_MISSING in str(c["props"].get("value")) for c in components)
    buttons = [c for c in components if c["props"].get("value") == "Personalise"]
    assert buttons and buttons[0]["props"]["interactive"] is False
    with pytest.raises(MouthSynthError, match="needs the training extra"):
        bench.personalize([tmp_path / "x.mp4"])
    bench.close()
    assert not bench.root.exists()


# --- the page in a browser ----------------------------------------------------------------------


class _Chromium:
    """Headless Chromium driven over the DevTools protocol on a pipe (no driver, no websocket)."""

    def __init__(self, profile: Path, size=(1400, 1000)):
        exe = shutil.which("chromium") or shutil.which("chromium-browser")
        r3, w3 = os.pipe()  # we write, chromium reads on fd 3
        r4, w4 = os.pipe()  # chromium writes on fd 4, we read

        def fds():
            a, b = os.dup(r3), os.dup(w4)
            os.dup2(a, 3)
            os.dup2(b, 4)

        self.proc = subprocess.Popen(
            [
                exe,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--no-first-run",
                "--remote-debugging-pipe",
                f"--user-data-dir={profile}",
                f"--window-size={size[0]},{size[1]}",
                "about:blank",
            ],
            preexec_fn=fds,
            pass_fds=(3, 4),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(r3)
        os.close(w4)
        self.out, self.inp = os.fdopen(w3, "wb"), os.fdopen(r4, "rb")
        self.next_id, self.buffer = 0, b""
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        self.call("Page.enable", session=True)
        self.call(
            "Emulation.setDeviceMetricsOverride",
            session=True,
            width=size[0],
            height=size[1],
            deviceScaleFactor=1,
            mobile=False,
        )

    def call(self, method: str, session: bool = False, **params):
        self.next_id += 1
        message = {"id": self.next_id, "method": method, "params": params}
        if session:
            message["sessionId"] = self.session
        self.out.write(json.dumps(message).encode() + b"\0")
        self.out.flush()
        while True:
            while b"\0" not in self.buffer:
                chunk = os.read(self.inp.fileno(), 1 << 16)
                if not chunk:
                    raise RuntimeError("chromium closed the pipe")
                self.buffer += chunk
            raw, self.buffer = self.buffer.split(b"\0", 1)
            reply = json.loads(raw)
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})

    def js(self, expression: str):
        result = self.call("Runtime.evaluate", session=True, expression=expression, returnByValue=True)
        return result.get("result", {}).get("value")

    def wait_for(self, expression: str, timeout: float = 120.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = self.js(expression)
            if value:
                return value
            time.sleep(0.25)
        raise AssertionError(f"timed out waiting for {expression}")

    def close(self):
        try:
            self.call("Browser.close")
        except Exception:
            pass
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@pytest.mark.skipif(
    not (shutil.which("chromium") or shutil.which("chromium-browser")),
    reason="headless Chromium is not installed (apt-get install -y chromium)",
)
def test_page_runs_one_image_in_a_browser(server, photos_dir, tmp_path):
    browser = _Chromium(tmp_path / "profile")
    try:
        browser.call("Page.navigate", session=True, url=server.url)
        browser.wait_for("!!document.querySelector('#image-upload input[type=file]')")
        root = browser.call("DOM.getDocument", session=True, depth=-1, pierce=True)["root"]["nodeId"]
        node = browser.call(
            "DOM.querySelector", session=True, nodeId=root, selector="#image-upload input[type=file]"
        )["nodeId"]
        browser.call("DOM.setFileInputFiles", session=True, nodeId=node, files=[str(photos_dir / OPEN_PHOTO)])
        browser.wait_for(f"document.querySelector('#image-upload').innerText.includes('{OPEN_PHOTO}')")
        browser.js("document.querySelector('#image-run').click()")
        status = browser.wait_for(
            "(() => { const t = document.querySelector('#image-status textarea');"
            " return t && t.value.includes('filled') ? t.value : ''; })()"
        )
        assert status == f"{OPEN_PHOTO}: 1 of 1 face(s) filled (alpha blend)"
        browser.wait_for(
            "(() => { const i = document.querySelector('#image-mask img');"
            " return !!i && i.complete && i.naturalWidth > 0; })()"
        )
        time.sleep(1.0)  # let the result images settle
        shot = base64.b64decode(browser.call("Page.captureScreenshot", session=True, format="png")["data"])
    finally:
        browser.close()
    # The README's screenshot is rewritten only when asked: a test run leaves the checkout as it was.
    update = os.environ.get("MOUTHSYNTH_UPDATE_SCREENSHOT") == "1"
    target = REPO / "docs" / "img" / "app.png" if update else tmp_path / "app.png"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(shot)
    import cv2

    image = cv2.imdecode(np.frombuffer(shot, np.uint8), cv2.IMREAD_COLOR)
    assert image.shape[:2] == (1000, 1400) and image.std() > 10


# --- last: stopping the server ------------------------------------------------------------------


def test_stopping_removes_temporary_files(server):
    root = server.root
    assert root.is_dir() and any((root / "uploads").iterdir())
    assert server.stop() == 0
    assert not root.exists()
