"""The reconstructor seam: one photo input in, one :class:`Reconstruction` out.

Two reconstructors stand behind it: the geometric one (:func:`~lam_core.reconstruct.analytic.reconstruct`,
the default) and LAM's network, which takes the geometric fit's canonical FLAME points (the person's shape,
no expression, no pose, subdivided once) and the photo, and predicts every Gaussian on them. The command
line chooses one by its flags (:func:`choose`); nothing here looks at head types.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable, Protocol

import numpy as np

from ..errors import LamError
from ..photo.reading import PhotoInput, read_photo_input  # noqa: F401  (read_photo_input: here for callers)
from .analytic import Reconstruction, reconstruct


class Reconstructor(Protocol):
    label: str

    def __call__(self, photo: PhotoInput, timer=None) -> Reconstruction: ...


@dataclass(frozen=True, eq=False)
class GeometricReconstructor:
    """Gaussians from geometry and the photo's colours (no network)."""

    head: object = None   # None: the open head; or a FLAME-layout HeadModel with a landmark embedding
    levels: int = 1
    label: str = "open head"

    def __call__(self, photo: PhotoInput, timer=None) -> Reconstruction:
        return reconstruct(photo.rgb, photo.face, photo.mask, head=self.head, levels=self.levels,
                           focal=photo.focal, timer=timer, torso_yaw=photo.torso_yaw)


@dataclass(frozen=True, eq=False)
class NetworkReconstructor:
    """LAM's network on the geometric fit's canonical points: 20,018 Gaussians on a FLAME head."""

    head: object                      # FLAME-layout HeadModel with a landmark embedding
    runner: object                    # lam_core.network.run.NetworkRunner
    label: str = "LAM network"
    say: Callable[[str], None] | None = None

    def __call__(self, photo: PhotoInput, timer=None) -> Reconstruction:
        import contextlib

        from ..gaussians import GaussianAvatar, Gaussians
        from ..network.crop import network_input
        from ..network.run import announce

        timer = timer or (lambda name: contextlib.nullcontext())
        fit = GeometricReconstructor(self.head, 1)(photo, timer)  # the fit and the canonical points
        points = fit.avatar.points
        with timer("network input"):
            image = network_input(photo.rgb, photo.mask, photo.face.points, self.runner.config.image_size)
        if self.say:
            announce(self.runner, points.n_points, self.say)
        with timer("network"):
            out = self.runner(image, points.vertices)
        try:
            g = Gaussians(offsets=out["offset"], colors=out["rgb"], opacities=out["opacity"],
                          scales=out["scale"], rotations=out["rotation"])
        except ValueError as exc:
            raise LamError(f"the network's output is unusable: {exc}") from None
        return replace(fit, avatar=GaussianAvatar(points, g), seen=np.ones(points.n_points, bool))


def network_head(flame_model: str | None, landmark_embedding: str | None, checkpoint_flame: dict | None,
                 notes: list[str]):
    """The FLAME head for the network: the user's file, else the one the checkpoint carries."""
    from ..landmark_embedding import compute_landmark_embedding, load_landmark_embedding

    if flame_model:
        from ..flame import load_flame

        model = load_flame(flame_model)
    elif checkpoint_flame:
        from ..network.flame_buffers import flame_from_buffers

        model = flame_from_buffers(checkpoint_flame)
        notes.append("FLAME head taken from the checkpoint's renderer.flame_model buffers")
    else:
        raise LamError("the LAM network needs a FLAME head and this model file carries none: give --flame-model")
    emb = load_landmark_embedding(landmark_embedding, model) if landmark_embedding else compute_landmark_embedding(model)
    return model.with_landmarks(emb)


def choose(*, weights: str | None = None, onnx: str | None = None, device: str = "cpu", head=None,
           head_label: str = "open head", levels: int = 1, flame_model: str | None = None,
           landmark_embedding: str | None = None, notes: list[str] | None = None,
           say: Callable[[str], None] | None = None, progress: bool = True) -> Reconstructor:
    """The reconstructor the flags ask for: ``weights`` (torch) or ``onnx`` (onnxruntime) for the network,
    neither for the geometric one with ``head``."""
    notes = notes if notes is not None else []
    if weights and onnx:
        raise LamError("give --weights or --onnx, not both")
    if not (weights or onnx):
        return GeometricReconstructor(head, levels, head_label)
    if levels != 1:
        raise LamError("the LAM network predicts 20,018 Gaussians: --points 80k is for the geometric reconstructor")
    from ..network.run import OnnxRunner, TorchRunner

    if weights:
        runner, checkpoint_flame = TorchRunner.from_weights(weights, device=device, progress=progress)
    else:
        if device != "cpu":
            raise LamError("--onnx runs on the CPU (onnxruntime); --device is for --weights")
        runner, checkpoint_flame = OnnxRunner(onnx, progress=progress), None
    model = network_head(flame_model, landmark_embedding, checkpoint_flame, notes)
    return NetworkReconstructor(model, runner, f"LAM network ({runner.label}), {model.name}", say)
