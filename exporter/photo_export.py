"""Photo -> .lam (and optionally .ply and a preview sheet): the pipeline behind ``lam-export PHOTO``.

Every output path is checked before any work starts and every output is written to a temporary file that
is renamed only when all of them are complete: an error or Ctrl-C at any stage leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import io
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
from PIL import Image

from exporter.stages import StageTimer
from lam_core.atomic import OutputError, atomic_path, check_writable

POINTS = {"20k": 1, "80k": 2}


@dataclass
class ExportReport:
    output: Path
    n_gaussians: int
    size_bytes: int
    head: str
    timings: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    quality: dict[str, float] = field(default_factory=dict)


def check_output(path: str | os.PathLike, suffixes: tuple[str, ...]) -> Path:
    p = Path(path)
    if p.suffix.lower() not in suffixes:
        raise OutputError(f"{p}: expected a file name ending in {' or '.join(suffixes)}")
    return check_writable(p)


def _thumbnail(rgb: np.ndarray, face_points: np.ndarray, size: int = 128) -> bytes:
    """A square JPEG crop of the photo around the face."""
    x0, y0 = face_points[:468, :2].min(0)
    x1, y1 = face_points[:468, :2].max(0)
    c = np.array([(x0 + x1) / 2, (y0 + y1) / 2])
    half = 0.8 * max(x1 - x0, y1 - y0)
    h, w = rgb.shape[:2]
    box = [int(max(c[0] - half, 0)), int(max(c[1] - half, 0)), int(min(c[0] + half, w)), int(min(c[1] + half, h))]
    im = Image.fromarray(rgb).crop(box).resize((size, size), Image.LANCZOS)
    buf = io.BytesIO()
    im.save(buf, format="JPEG", quality=85)
    return buf.getvalue()


PREVIEW_VIEWS = (("front", 0, 0), ("yaw -45", -45, 0), ("yaw +45", 45, 0), ("from above", 0, 20),
                 ("from below", 0, -20), ("behind", 180, 0))


def preview_sheet(rec, rgb: np.ndarray, size: int = 256) -> np.ndarray:
    """Labelled square panels around the bust: the input photo, the front render at the photo's camera,
    renders at -45 and +45 degrees of yaw, 20 degrees above and below, from behind (all turned about the
    head), and a jaw-open frame."""
    from PIL import ImageDraw

    from lam_core.camera import Camera
    from lam_core.reconstruct.quality import head_centre, orbit_about_head
    from lam_core.render import render_posed

    cam = rec.camera
    posed = rec.avatar.animate(rec.photo_params)
    uv = cam.project(posed.means[0].numpy())[:, :2]
    lo, hi = uv.min(0), uv.max(0)
    centre_px = (lo + hi) / 2
    half = 0.55 * float((hi - lo).max())
    x0, y0 = centre_px - half
    k = size / (2 * half)
    crop = Camera(size, size, cam.fx * k, cam.fy * k, (cam.cx - x0) * k, (cam.cy - y0) * k,
                  world_to_camera=cam.world_to_camera)
    photo = Image.fromarray(rgb).crop((int(x0), int(y0), int(x0 + 2 * half), int(y0 + 2 * half)))
    panels = [("photo", np.asarray(photo.resize((size, size), Image.LANCZOS).convert("RGB")))]
    centre = head_centre(rec.avatar)
    for label, yaw, pitch in PREVIEW_VIEWS:
        view = orbit_about_head(crop, centre, yaw, pitch)
        panels.append((label, render_posed(posed, view, backend="auto").rgb_uint8()))
    if "jaw" in rec.avatar.rig.joint_names:
        jaw = rec.photo_params[0:1]
        jaw = type(jaw)(jaw.expr.clone(), jaw.pose.clone(), jaw.translation.clone())
        jaw.pose[0, rec.avatar.rig.joint_names.index("jaw"), 0] = 0.35
        panels.append(("jaw open", render_posed(rec.avatar.animate(jaw), crop, backend="auto").rgb_uint8()))
    out = []
    for label, img in panels:
        im = Image.fromarray(img)
        draw = ImageDraw.Draw(im)
        box = draw.textbbox((6, 4), label)
        draw.rectangle((box[0] - 3, box[1] - 2, box[2] + 3, box[3] + 2), fill=(255, 255, 255))
        draw.text((6, 4), label, fill=(0, 0, 0))
        out.append(np.asarray(im))
    return np.concatenate(out, 1)


def export_photo(photo: str | os.PathLike, output: str | os.PathLike, *, flame_model: str | None = None,
                 landmark_embedding: str | None = None, points: str = "20k", ply: str | None = None,
                 preview: str | None = None, log: Callable[[str], None] | None = None,
                 weights: str | None = None, onnx: str | None = None, device: str = "cpu",
                 say: Callable[[str], None] | None = None) -> ExportReport:
    """Reconstruct the head in ``photo`` and write it to ``output`` (.lam, or .zip: the official LAM web avatar
    for the official renderer, ARKit-channel rigs only), plus the optional outputs.
    ``weights`` (a LAM checkpoint, torch on ``device``) or ``onnx`` (an exported network, onnxruntime) use
    LAM's network instead of the geometric reconstructor; ``say`` gets its time estimate."""
    from exporter.photo_read import PhotoRead
    from lam_core.photo.reading import WORK_FACE_PX

    if points not in POINTS:
        raise OutputError(f"--points must be one of {', '.join(POINTS)}, got {points!r}")
    out = check_output(output, (".lam", ".zip"))
    if out.suffix.lower() == ".zip" and (flame_model or weights or onnx):
        raise OutputError("a .zip (official LAM web avatar) needs ARKit channels: the open head has them, "
                          "a FLAME head (--flame-model, or LAM's network) does not (write .lam)")
    ply_path = check_output(ply, (".ply",)) if ply else None
    preview_path = check_output(preview, (".png", ".jpg", ".jpeg")) if preview else None
    named = [p for p in (out, ply_path, preview_path) if p is not None]
    if len({p.resolve() for p in named}) != len(named):
        raise OutputError("the output files must be different paths")

    timer = StageTimer(log)
    name = Path(photo).name
    network = bool(weights or onnx)
    notes: list[str] = []
    # the geometric reconstructors work on a copy of the photo scaled to their Gaussians' detail (each level of
    # --points halves their spacing); LAM's network takes its own crop of the photo as it is
    max_face_px = None if network else WORK_FACE_PX * 2 ** (POINTS[points] - 1)
    # the photo is read (in a forked child where that is safe) while the reconstruction's modules import
    with contextlib.closing(PhotoRead(photo, name, torso=not (network or flame_model),
                                      max_face_px=max_face_px)) as reading:
        from exporter.lamfile import write_lam
        from exporter.lamfile.photo_record import PhotoRecord
        from lam_core.reconstruct.seam import choose

        if network:  # the model file is checked (and loaded) before the photo is used: its errors come first
            with timer("network weights"):
                reconstructor = choose(weights=weights, onnx=onnx, device=device, levels=POINTS[points],
                                       flame_model=flame_model, landmark_embedding=landmark_embedding,
                                       notes=notes, say=say, progress=say is not None)
        photo_input = reading.result(timer)
    rgb, face = photo_input.rgb, photo_input.face
    if face.n_faces > 1:
        notes.append(f"{face.n_faces} faces in {name}: using the largest")
    head = None
    head_name = "open head"
    if network:
        head_name = reconstructor.label
    elif flame_model:
        from lam_core.flame import load_flame
        from lam_core.landmark_embedding import compute_landmark_embedding, load_landmark_embedding

        with timer("head model"):
            model = load_flame(flame_model)
            emb = (load_landmark_embedding(landmark_embedding, model) if landmark_embedding
                   else compute_landmark_embedding(model))
            head = model.with_landmarks(emb)
            head_name = model.name
        if not landmark_embedding:
            notes.append("no --landmark-embedding given: using one computed from MediaPipe's canonical face")
    elif landmark_embedding:
        raise OutputError("--landmark-embedding goes with --flame-model")
    if not network:
        reconstructor = choose(head=head, head_label=head_name, levels=POINTS[points])
    rec = reconstructor(photo_input, timer)

    with contextlib.ExitStack() as stack:
        tmp_out = stack.enter_context(atomic_path(out))
        if out.suffix.lower() == ".zip":
            from exporter.official_zip.writer import write_official_zip

            with timer("write official zip"):
                size, zip_notes = write_official_zip(tmp_out, rec.avatar, name=out.stem)
            notes.extend(zip_notes)
        else:
            with timer("write .lam"):
                size = write_lam(tmp_out, rec.avatar, thumbnail=_thumbnail(rgb, face.points),
                                 thumbnail_mime="image/jpeg", meta={"source": name, "head": head_name, "points": points},
                                 photo=PhotoRecord(photo_input.camera_in_photo(rec.camera), rec.photo_params))
        if ply_path is not None:
            from exporter.ply import write_ply

            tmp_ply = stack.enter_context(atomic_path(ply_path))
            with timer("write .ply"):
                posed = rec.avatar.animate(type(rec.photo_params).zeros(1, rec.avatar.rig.n_expr))
                write_ply(tmp_ply, posed.means[0], posed.quats[0], posed.scales, posed.colors, posed.opacities)
        if preview_path is not None:
            tmp_prev = stack.enter_context(atomic_path(preview_path))
            with timer("preview"):
                Image.fromarray(preview_sheet(rec, rgb)).save(tmp_prev)
    return ExportReport(out, rec.avatar.n, size, head_name, timer.times, notes)
