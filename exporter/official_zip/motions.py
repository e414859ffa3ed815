"""Motions inside an official LAM zip as project motions: each ``animation.glb`` clip becomes the global and
neck rotations (and translation) of the rig, sampled at 30 frames/s.

The clips animate a body skeleton (``hip`` ... ``neckLower`` ... ``head``). Forward kinematics over the file's
own node hierarchy (root rotation and scale included) gives each bone's world transform per frame; the rig's
global joint follows ``neckLower`` (its world rotation change from rest, and its displacement as the
translation) and the neck joint the ``head`` bone's rotation change relative to it, as the rig's FK composes
them. Expressions are zero (the clips carry none). A file that does not parse, or lacks those bones, gives no
motions: the avatar itself does not depend on them.
"""

from __future__ import annotations

import numpy as np

from lam_core.motion import Motion
from scipy.spatial.transform import Rotation

from .errors import OfficialZipError
from .glb import parse_glb
from .skin import RIG_BONES, Skin, node_parents

FPS = 30.0
MAX_CLIP_S = 600.0


def _quat_xyzw_to_matrix(q: np.ndarray) -> np.ndarray:
    return Rotation.from_quat(q.reshape(-1, 4)).as_matrix().reshape(q.shape[:-1] + (3, 3))


def _sample(times: np.ndarray, values: np.ndarray, t: np.ndarray, mode: str, quat: bool) -> np.ndarray:
    """Keyframes (K,) / (K, C) at times t: STEP or LINEAR (quaternions: normalised lerp along the short way)."""
    i = np.clip(np.searchsorted(times, t, side="right") - 1, 0, len(times) - 1)
    if mode == "STEP" or len(times) == 1:
        return values[i]
    j = np.minimum(i + 1, len(times) - 1)
    span = np.maximum(times[j] - times[i], 1e-9)
    a = np.clip((t - times[i]) / span, 0, 1)[:, None]
    v0, v1 = values[i], values[j]
    if quat:
        v1 = np.where((v0 * v1).sum(1, keepdims=True) < 0, -v1, v1)
    out = v0 * (1 - a) + v1 * a
    return out / np.linalg.norm(out, axis=1, keepdims=True) if quat else out


def _chain(parents: list[int], k: int) -> set[int]:
    out = set()
    while k >= 0 and k not in out:
        out.add(k)
        k = parents[k]
    return out


def _clip_motion(glb, anim: dict, parents: list[int], rest: list[tuple], bones: dict[str, int], where: str) -> Motion:
    wanted = _chain(parents, bones["global"]) | _chain(parents, bones["neck"])
    channels = anim.get("channels", [])
    samplers = anim.get("samplers", [])
    if not isinstance(channels, list) or not isinstance(samplers, list):
        glb.fail("an animation's channels or samplers are not lists")
    tracks, end = {}, 0.0
    for c in channels:
        target = c.get("target", {}) if isinstance(c, dict) else {}
        node, path = target.get("node"), target.get("path")
        if path not in ("translation", "rotation", "scale") or node not in wanted:
            continue
        s = samplers[c["sampler"]] if type(c.get("sampler")) is int and 0 <= c["sampler"] < len(samplers) else None
        if not isinstance(s, dict):
            glb.fail("an animation channel names a missing sampler")
        times = glb.accessor(s.get("input"))[:, 0].astype(np.float64)
        values = glb.accessor(s.get("output")).astype(np.float64)
        if len(values) != len(times) or np.any(np.diff(times) < 0):
            glb.fail(f"animation '{anim.get('name')}': keyframe times and values disagree")
        tracks[(node, path)] = (times, values, s.get("interpolation", "LINEAR"))
        end = max(end, float(times[-1]))
    end = min(end, MAX_CLIP_S)
    t = np.arange(0.0, end + 1e-9, 1.0 / FPS) if end > 0 else np.zeros(1)
    n = len(t)
    world_r, world_p = {}, {}

    def world(k: int):
        if k in world_r:
            return world_r[k], world_p[k]
        tr, rot, sc = rest[k]
        if (k, "translation") in tracks:
            tr = _sample(*tracks[(k, "translation")][:2], t, tracks[(k, "translation")][2], False)
        if (k, "rotation") in tracks:
            rot = _sample(*tracks[(k, "rotation")][:2], t, tracks[(k, "rotation")][2], True)
        if (k, "scale") in tracks:
            sc = _sample(*tracks[(k, "scale")][:2], t, tracks[(k, "scale")][2], False)
        tr, rot, sc = (np.broadcast_to(np.asarray(x, np.float64), (n, len(x) if np.ndim(x) == 1 else x.shape[1]))
                       for x in (tr, rot, sc))
        local = _quat_xyzw_to_matrix(rot) * sc[:, None, :]
        if parents[k] < 0:
            world_r[k], world_p[k] = local, tr.copy()
        else:
            pr, pp = world(parents[k])
            world_r[k], world_p[k] = pr @ local, pp + (pr @ tr[..., None])[..., 0]
        return world_r[k], world_p[k]

    def rotation_only(m):
        u, _, vt = np.linalg.svd(m)
        return u @ vt

    g_r, g_p = world(bones["global"])
    h_r, _ = world(bones["neck"])
    saved = dict(tracks)
    tracks.clear()
    world_r.clear(), world_p.clear()
    g0_r, g0_p = world(bones["global"])
    h0_r, _ = world(bones["neck"])
    tracks.update(saved)
    d_global = rotation_only(g_r) @ np.swapaxes(rotation_only(g0_r), 1, 2)
    d_head = rotation_only(h_r) @ np.swapaxes(rotation_only(h0_r), 1, 2)
    r_neck = np.swapaxes(d_global, 1, 2) @ d_head
    pose = np.zeros((n, 5, 3), np.float32)
    pose[:, 0] = Rotation.from_matrix(d_global).as_rotvec()
    pose[:, 1] = Rotation.from_matrix(r_neck).as_rotvec()
    translation = (g_p - g0_p).astype(np.float32)
    return Motion(channel_names=(), channels=np.zeros((n, 0), np.float32), pose=pose, translation=translation,
                  fps=FPS, source=f"{where}:animation.glb#{anim.get('name', '')}")


def animation_motions(data: bytes, where: str) -> dict[str, Motion]:
    glb = parse_glb(data, f"{where}:animation.glb")
    nodes = glb.items("nodes")
    parents = node_parents(glb)
    names = [n.get("name") for n in nodes]
    bones = {}
    for joint in ("global", "neck"):
        if RIG_BONES[joint] not in names:
            glb.fail(f"no '{RIG_BONES[joint]}' bone")
        bones[joint] = names.index(RIG_BONES[joint])
    rest = [(n.get("translation", [0.0, 0.0, 0.0]), n.get("rotation", [0.0, 0.0, 0.0, 1.0]), n.get("scale", [1.0, 1.0, 1.0]))
            for n in nodes]
    for i, (tr, rot, sc) in enumerate(rest):
        if not (len(tr) == 3 and len(rot) == 4 and len(sc) == 3 and np.isfinite(np.r_[tr, rot, sc]).all()):
            glb.fail(f"nodes[{i}] has a malformed translation, rotation or scale")
    out = {}
    for k, anim in enumerate(glb.items("animations")):
        name = str(anim.get("name") or f"clip_{k}")
        out[name] = _clip_motion(glb, anim, parents, rest, bones, where)
    return out


def zip_motions(members: dict[str, bytes], skin: Skin, where: str) -> dict[str, Motion]:
    """The zip's motions by name; {} where they do not parse (the avatar does not depend on them)."""
    if "animation.glb" not in members:
        return {}
    try:
        return animation_motions(members["animation.glb"], where)
    except (OfficialZipError, ValueError, TypeError, KeyError, IndexError, np.linalg.LinAlgError):
        return {}
