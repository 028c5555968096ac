"""The page: four tabs (image, video, transfer, personalisation) over one ``Workbench``, served by
Gradio. ``serve`` starts it (``mouthsynth app``); ``build`` only makes the Blocks (tests, embedding).

Every upload goes through the CLI's readers, so a bad file gets the CLI's one-line message, shown
in the page (and returned by the HTTP API as the error). Nothing a request does stops the server.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
from pathlib import Path

from mouthsynth.app.work import (
    BLENDS,
    SHIPPED,
    TRAIN_EXTRA_MISSING,
    Workbench,
    training_available,
)
from mouthsynth.errors import MouthSynthError
from mouthsynth.io.images import IMAGE_EXTENSIONS, VIDEO_EXTENSIONS

log = logging.getLogger(__name__)

IMAGE_TYPES = sorted(IMAGE_EXTENSIONS)
VIDEO_TYPES = sorted(VIDEO_EXTENSIONS)
INTRO = (
    "# mouthsynth\n"
    "Paints the mouth interior (teeth, tongue, the dark cavity) into faces whose mouth shape was "
    "changed. Everything runs on this computer; uploads and results are temporary."
)


def _prepare_environment(workbench: Workbench) -> None:
    """Before Gradio is imported: no analytics calls, uploads in the workbench's folder."""
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    os.environ["GRADIO_TEMP_DIR"] = str(workbench.uploads)


def _theme():
    import gradio as gr

    # System fonts: the default theme fetches web fonts, which an offline machine cannot.
    return gr.themes.Default(
        font=["ui-sans-serif", "system-ui", "sans-serif"],
        font_mono=["ui-monospace", "monospace"],
    )


def build(workbench: Workbench):
    """The Gradio Blocks of the app (not launched)."""
    _prepare_environment(workbench)
    import gradio as gr

    def guarded(fn, *args):
        try:
            return fn(*args)
        except MouthSynthError as exc:
            raise gr.Error(workbench.user_message(exc), duration=None, print_exception=False) from None
        except Exception as exc:  # never a dead request handler: one line, the traceback in the log
            log.exception("request failed")
            raise gr.Error(workbench.user_message(exc), duration=None, print_exception=False) from None

    def run_image(upload, sample, blend, model):
        out = guarded(workbench.inpaint, upload, sample, blend, model)
        return out.image, out.mask, out.message

    def run_video(upload, blend, model, progress=gr.Progress(track_tqdm=True)):  # noqa: B008
        out = guarded(workbench.video, upload, blend, model)
        return str(out.path), out.message

    def run_transfer(driver, target, strength, keep_audio, model, progress=gr.Progress(track_tqdm=True)):  # noqa: B008
        out = guarded(workbench.transfer, driver, target, strength, keep_audio, model)
        if out.is_video:
            return str(out.path), None, out.message
        return None, str(out.path), out.message

    def run_personalize(uploads, minutes, steps, progress=gr.Progress(track_tqdm=True)):  # noqa: B008
        out = guarded(workbench.personalize, uploads, minutes, steps)
        files = [str(out.path), *map(str, out.extra)]
        return files, out.message, gr.update(choices=list(workbench.models), value=out.label)

    work = {"concurrency_id": "work", "concurrency_limit": 1}
    # Gradio's own copies of uploads and results are pruned after an hour as well.
    keep = max(60, int(workbench.keep_results_s))
    with gr.Blocks(title="mouthsynth", delete_cache=(min(keep, 600), keep)) as blocks:
        gr.Markdown(INTRO)
        model = gr.Dropdown(
            list(workbench.models),
            value=SHIPPED,
            label="Model",
            info="the shipped generator, or a personal one made in the Personalise tab",
            elem_id="model",
        )
        with gr.Tabs():
            with gr.Tab("Image", id="image"):
                with gr.Row():
                    with gr.Column(scale=1):
                        upload = gr.File(
                            label="Image", file_types=IMAGE_TYPES, type="filepath", elem_id="image-upload"
                        )
                        sample = gr.Dropdown(
                            list(workbench.samples),
                            value=None,
                            label="or a sample",
                            elem_id="image-sample",
                        )
                        blend = gr.Radio(
                            list(BLENDS),
                            value="alpha",
                            label="Blend",
                            info="alpha: soft edge and seam correction; poisson: gradient-domain paste",
                        )
                        button = gr.Button("Fill the mouth", variant="primary", elem_id="image-run")
                    with gr.Column(scale=3):
                        with gr.Row():
                            result = gr.Image(label="Result", format="png", elem_id="image-result")
                            mask = gr.Image(label="Mask (what changed)", format="png", elem_id="image-mask")
                        status = gr.Textbox(label="Status", interactive=False, elem_id="image-status")
                button.click(
                    run_image,
                    [upload, sample, blend, model],
                    [result, mask, status],
                    api_name="inpaint",
                    **work,
                )

            with gr.Tab("Video", id="video"):
                with gr.Row():
                    with gr.Column():
                        video_in = gr.Video(label="Video", sources=["upload"], include_audio=True)
                        video_blend = gr.Radio(list(BLENDS), value="alpha", label="Blend")
                        video_button = gr.Button("Fill every frame", variant="primary")
                        gr.Markdown(
                            f"Videos up to {workbench.max_video_seconds:g} s; frames, frame rate, size "
                            "and audio are kept."
                        )
                    with gr.Column():
                        video_out = gr.Video(label="Result")
                        video_status = gr.Textbox(label="Status", interactive=False)
                video_button.click(
                    run_video,
                    [video_in, video_blend, model],
                    [video_out, video_status],
                    api_name="video",
                    **work,
                )

            with gr.Tab("Transfer", id="transfer"):
                gr.Markdown(
                    "The driver's mouth motion (relative to its first frame) moves the target's mouth; "
                    "only the target's lower face changes, and the generator paints the new interior."
                )
                with gr.Row():
                    with gr.Column():
                        driver = gr.File(
                            label="Driver: a person speaking (video or image)",
                            file_types=VIDEO_TYPES + IMAGE_TYPES,
                            type="filepath",
                        )
                        target = gr.File(
                            label="Target: the face to drive (image or video)",
                            file_types=IMAGE_TYPES + VIDEO_TYPES,
                            type="filepath",
                        )
                        strength = gr.Slider(0.0, 2.0, value=1.0, step=0.05, label="Strength")
                        keep_audio = gr.Radio(
                            ["driver", "target", "none"], value="driver", label="Audio from"
                        )
                        transfer_button = gr.Button("Drive the target", variant="primary")
                    with gr.Column():
                        transfer_video = gr.Video(label="Result (video)")
                        transfer_image = gr.Image(label="Result (image)", format="png")
                        transfer_status = gr.Textbox(label="Status", interactive=False)
                transfer_button.click(
                    run_transfer,
                    [driver, target, strength, keep_audio, model],
                    [transfer_video, transfer_image, transfer_status],
                    api_name="transfer",
                    **work,
                )

            with gr.Tab("Personalise", id="personalise"):
                available = training_available()
                gr.Markdown(
                    "Fine-tunes the shipped generator on one person's own footage (about 20 or more "
                    "open-mouth frames) within a time budget; the new model can then be picked above."
                    if available
                    else f"**{TRAIN_EXTRA_MISSING}**",
                    elem_id="personalise-note",
                )
                with gr.Row():
                    with gr.Column():
                        footage = gr.File(
                            label="Videos or photos of one person",
                            file_count="multiple",
                            file_types=VIDEO_TYPES + IMAGE_TYPES,
                            type="filepath",
                            interactive=available,
                        )
                        minutes = gr.Slider(1, 60, value=5, step=1, label="Budget (minutes, all included)")
                        steps = gr.Number(
                            0, precision=0, minimum=0, label="Steps (0: as many as the budget allows)"
                        )
                        personal_button = gr.Button("Personalise", variant="primary", interactive=available)
                    with gr.Column():
                        personal_files = gr.File(label="Personal model and its card", file_count="multiple")
                        personal_status = gr.Textbox(label="Status", interactive=False)
                personal_button.click(
                    run_personalize,
                    [footage, minutes, steps],
                    [personal_files, personal_status, model],
                    api_name="personalize",
                    **work,
                )
    return blocks


def serve(
    host: str = "127.0.0.1",
    port: int = 7860,
    model: str | Path | None = None,
    samples: list[Path] | None = None,
    max_upload_mb: float = 200.0,
    max_video_seconds: float = 60.0,
    on_ready=None,
) -> None:
    """Serve the app until interrupted (Ctrl-C or SIGTERM); its temporary folder goes with it."""
    workbench = Workbench(model=model, samples=samples or (), max_video_seconds=max_video_seconds)

    def stop(signum, frame):
        raise SystemExit(0)

    previous = signal.signal(signal.SIGTERM, stop)
    blocks = None
    try:
        blocks = build(workbench)
        blocks.queue(default_concurrency_limit=1)
        blocks.launch(
            server_name=host,
            server_port=port,
            max_file_size=f"{max_upload_mb:g}mb",
            show_error=True,
            quiet=True,
            ssr_mode=False,
            prevent_thread_lock=True,
            theme=_theme(),
        )
        if on_ready is not None:
            on_ready(blocks.local_url, workbench.root)
        blocks.block_thread()
    finally:
        signal.signal(signal.SIGTERM, previous)
        if blocks is not None:
            try:
                blocks.close()
            except Exception:  # already closed by Gradio
                pass
        workbench.close()
        sys.stdout.flush()
