"""Writing the official LAM web avatar zip from a project avatar whose rig has ARKit channels.

One Gaussian per skin vertex, as the official renderer requires: the skin's vertices are the avatar's rig
points at rest (for a converted avatar, exactly its skin), each with its interpolated LBS weights (the 4
largest, renormalised) and its ARKit morph deltas; ``offset.ply`` holds the Gaussians in the official
columns (offset, RGB as f_dc, opacity logit, log scales, wxyz). The skeleton is the smallest the renderer
accepts: ``hip`` (its root, which it looks up by name) -> ``neckLower`` (global) -> ``head`` (neck) ->
``lowerJaw``, ``lEye``, ``rEye``. ``animation.glb`` holds the 12 clips its default animation config indexes
(hello x2, idle, speak x6, think x3), each holding the head still: body motion is not part of a .lam.
``vertex_order.json`` lists the vertices from the lowest up, as the official exporter does.

What the official layout cannot hold is dropped, and said: pose correctives, expression-driven joint
motion, non-ARKit channels. An avatar whose head is elsewhere than the official renderer's camera expects is
moved there (its fixed camera looks at a head at standing height).
"""

from __future__ import annotations

import io
import json
import os

import numpy as np
import scipy.sparse as sp
from plyfile import PlyData, PlyElement

from lam_core.atomic import write_bytes_atomic
from lam_core.gaussians import GaussianAvatar
from lam_core.head_model import JOINT_NAMES

from .archive import pack_members
from .errors import OfficialZipError
from .glb import GlbBuilder
from .skin import RIG_BONES

ARKIT_NAMES = (
    "browDownLeft", "browDownRight", "browInnerUp", "browOuterUpLeft", "browOuterUpRight", "cheekPuff",
    "cheekSquintLeft", "cheekSquintRight", "eyeBlinkLeft", "eyeBlinkRight", "eyeLookDownLeft", "eyeLookDownRight",
    "eyeLookInLeft", "eyeLookInRight", "eyeLookOutLeft", "eyeLookOutRight", "eyeLookUpLeft", "eyeLookUpRight",
    "eyeSquintLeft", "eyeSquintRight", "eyeWideLeft", "eyeWideRight", "jawForward", "jawLeft", "jawOpen", "jawRight",
    "mouthClose", "mouthDimpleLeft", "mouthDimpleRight", "mouthFrownLeft", "mouthFrownRight", "mouthFunnel",
    "mouthLeft", "mouthLowerDownLeft", "mouthLowerDownRight", "mouthPressLeft", "mouthPressRight", "mouthPucker",
    "mouthRight", "mouthRollLower", "mouthRollUpper", "mouthShrugLower", "mouthShrugUpper", "mouthSmileLeft",
    "mouthSmileRight", "mouthStretchLeft", "mouthStretchRight", "mouthUpperUpLeft", "mouthUpperUpRight",
    "noseSneerLeft", "noseSneerRight", "tongueOut",
)
# where the official template's head bone sits (metres, the sample p2-1's skin): the renderer's fixed camera
# (0, 1.8, 1), pitched 10 degrees down, frames a head there
OFFICIAL_HEAD_JOINT = np.array([0.0, 1.6255020, -0.0184053], np.float32)
MOVE_TOLERANCE_M = 1e-3
CLIPS = ("hello_1", "hello_2", "idle", "speak_1", "speak_2", "speak_3", "speak_4", "speak_5", "speak_6",
         "think_1", "think_2", "think_3")
SKELETON = ("hip", RIG_BONES["global"], RIG_BONES["neck"], RIG_BONES["jaw"], RIG_BONES["eye_l"], RIG_BONES["eye_r"])
SKELETON_PARENTS = (-1, 0, 1, 2, 2, 2)
TRIANGLES, ARRAY_BUFFER, ELEMENT_ARRAY_BUFFER = 4, 34962, 34963


def _fail(msg: str):
    raise OfficialZipError(f"cannot write an official LAM zip: {msg}")


def _top4(w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    keep = np.argsort(-w, axis=1, kind="stable")[:, :4]
    vals = np.take_along_axis(w, keep, 1)
    vals = vals / np.maximum(vals.sum(1, keepdims=True), 1e-12)
    if keep.shape[1] < 4:
        pad = 4 - keep.shape[1]
        keep = np.pad(keep, ((0, 0), (0, pad)))
        vals = np.pad(vals, ((0, 0), (0, pad)))
    return keep, vals


def _skin_glb(verts, faces, joints, weights, morph_names, morph_deltas, joint_pos) -> bytes:
    g = GlbBuilder()
    pos = g.accessor(verts.astype(np.float32), "VEC3", target=ARRAY_BUFFER, minmax=True)
    # rig joint j -> skeleton node j + 1 ("hip" is node 0 and weighs nothing)
    j_idx = g.accessor((joints + 1).astype(np.uint8), "VEC4", target=ARRAY_BUFFER)
    w_acc = g.accessor(weights.astype(np.float32), "VEC4", target=ARRAY_BUFFER)
    idx_dtype = np.uint16 if len(verts) <= 65535 else np.uint32
    ind = g.accessor(faces.astype(idx_dtype).reshape(-1), "SCALAR", target=ELEMENT_ARRAY_BUFFER)
    targets = [{"POSITION": g.accessor(np.ascontiguousarray(morph_deltas[:, :, k], np.float32), "VEC3", minmax=True)}
               for k in range(len(morph_names))]
    skel_pos = np.concatenate([joint_pos[:1], joint_pos]).astype(np.float64)  # hip sits on the global joint
    ibm = np.zeros((len(SKELETON), 4, 4), np.float32)
    ibm[:] = np.eye(4)
    ibm[:, :3, 3] = -skel_pos
    ibm_acc = g.accessor(np.ascontiguousarray(ibm.transpose(0, 2, 1)), "MAT4")  # glTF stores columns
    nodes = _skeleton_nodes(skel_pos)
    nodes.append({"name": "head_final", "mesh": 0, "skin": 0})
    prim = {"attributes": {"POSITION": pos, "JOINTS_0": j_idx, "WEIGHTS_0": w_acc}, "indices": ind,
            "mode": TRIANGLES, "targets": targets}
    g.doc.update({
        "scene": 0, "scenes": [{"nodes": [0, len(nodes) - 1]}], "nodes": nodes,
        "meshes": [{"name": "head_final", "primitives": [prim], "weights": [0.0] * len(morph_names),
                    "extras": {"targetNames": list(morph_names)}}],
        "skins": [{"joints": list(range(len(SKELETON))), "inverseBindMatrices": ibm_acc, "skeleton": 0}],
    })
    return g.to_bytes()


def _skeleton_nodes(skel_pos) -> list[dict]:
    """glTF nodes of the written skeleton at rest: each bone translated from its parent, with its children."""
    nodes = []
    for i, name in enumerate(SKELETON):
        par = SKELETON_PARENTS[i]
        rel = skel_pos[i] - (skel_pos[par] if par >= 0 else 0.0)
        node = {"name": name, "translation": [float(x) for x in rel]}
        kids = [c for c, p in enumerate(SKELETON_PARENTS) if p == i]
        if kids:
            node["children"] = kids
        nodes.append(node)
    return nodes


def _animation_glb(joint_pos) -> bytes:
    """The clips the official renderer's default config indexes, each holding the skeleton at rest."""
    g = GlbBuilder()
    times = g.accessor(np.array([0.0, 1.0], np.float32), "SCALAR", minmax=True)
    still = g.accessor(np.array([[0, 0, 0, 1]] * 2, np.float32), "VEC4")  # xyzw identity
    skel_pos = np.concatenate([joint_pos[:1], joint_pos])
    nodes = _skeleton_nodes(skel_pos)
    head = SKELETON.index(RIG_BONES["neck"])
    g.doc.update({
        "scene": 0, "scenes": [{"nodes": [0]}], "nodes": nodes,
        "animations": [{"name": name, "samplers": [{"input": times, "output": still, "interpolation": "LINEAR"}],
                        "channels": [{"sampler": 0, "target": {"node": head, "path": "rotation"}}]}
                       for name in CLIPS],
    })
    return g.to_bytes()


def _offset_ply(avatar: GaussianAvatar) -> bytes:
    g = avatar.gaussians
    o = np.clip(g.opacities.astype(np.float64), 1e-7, 1 - 1e-7)
    cols = {"x": g.offsets[:, 0], "y": g.offsets[:, 1], "z": g.offsets[:, 2],
            "nx": np.zeros(g.n), "ny": np.zeros(g.n), "nz": np.zeros(g.n),
            "f_dc_0": g.colors[:, 0], "f_dc_1": g.colors[:, 1], "f_dc_2": g.colors[:, 2],
            "opacity": np.log(o / (1 - o)),
            "scale_0": np.log(g.scales[:, 0]), "scale_1": np.log(g.scales[:, 1]), "scale_2": np.log(g.scales[:, 2]),
            "rot_0": g.rotations[:, 0], "rot_1": g.rotations[:, 1], "rot_2": g.rotations[:, 2],
            "rot_3": g.rotations[:, 3]}
    rows = np.empty(g.n, dtype=[(k, "<f4") for k in cols])
    for k, v in cols.items():
        rows[k] = v
    buf = io.BytesIO()
    PlyData([PlyElement.describe(rows, "vertex")], text=False, byte_order="<").write(buf)
    return buf.getvalue()


def official_members(avatar: GaussianAvatar) -> tuple[dict[str, bytes], list[str]]:
    """The zip's members for ``avatar``, and notes on what the official layout could not hold."""
    rig, pts = avatar.rig, avatar.points
    names = [n for n in rig.expr_names if n in ARKIT_NAMES]  # the rig's order: round trips keep it
    if not names:
        _fail("the avatar's rig has no ARKit expression channels (the official renderer drives only ARKit "
              "morph targets); FLAME-channel avatars cannot be written this way")
    if pts.faces is None:
        _fail("the avatar's Gaussians form no mesh (no point faces)")
    if avatar.n > 65535 * 16:
        _fail(f"{avatar.n} Gaussians is more than this writer supports")
    notes = []
    dropped = [n for n in rig.expr_names if n not in names]
    if dropped:
        notes.append(f"{len(dropped)} non-ARKit channels dropped")
    if np.any(rig.posedirs != 0):
        notes.append("pose correctives dropped")
    if np.any(rig.joint_exprdirs != 0):
        notes.append("expression-driven joint motion dropped")
    interp = sp.csr_matrix(pts.interp, dtype=np.float64)
    verts = (interp @ rig.vertices.astype(np.float64)).astype(np.float32)
    k_idx = [rig.expr_names.index(n) for n in names]
    base = rig.exprdirs[:, :, k_idx].reshape(rig.n_vertices, -1).astype(np.float64)
    deltas = (interp @ base).reshape(-1, 3, len(names)).astype(np.float32)
    joint_pos = rig.joints.astype(np.float64)
    if rig.joint_names[:len(JOINT_NAMES)] != JOINT_NAMES:  # the official layout's skeleton is FLAME's, in order
        _fail(f"the rig's joints {rig.joint_names} are not {list(JOINT_NAMES)}")
    shift = OFFICIAL_HEAD_JOINT - joint_pos[1]
    if np.linalg.norm(shift) > MOVE_TOLERANCE_M:
        verts = verts + shift.astype(np.float32)
        joint_pos = joint_pos + shift
        notes.append(f"moved by {np.round(shift, 3).tolist()} m to where the official renderer's camera looks")
    w = np.asarray(interp @ rig.lbs_weights.astype(np.float64))[:, :5]
    joints, weights = _top4(w)
    faces = np.asarray(pts.faces, dtype=np.int64)
    members = {
        "skin.glb": _skin_glb(verts, faces, joints, weights, names, deltas, joint_pos[:5]),
        "offset.ply": _offset_ply(avatar),
        "animation.glb": _animation_glb(joint_pos[:5]),
        "vertex_order.json": json.dumps(np.argsort(verts[:, 1], kind="stable").tolist()).encode(),
    }
    return members, notes


def write_official_zip(path: str | os.PathLike, avatar: GaussianAvatar, name: str = "avatar") -> tuple[int, list[str]]:
    """Write ``avatar`` as an official LAM zip (its members in folder ``name``, which the official renderer
    finds by the zip's one directory entry) atomically; returns the zip's size and the notes."""
    if not name or any(c in name for c in '/\\:\0') or name in (".", ".."):
        _fail(f"folder name {name!r} is not a plain name")
    members, notes = official_members(avatar)
    data = pack_members(members, name)
    write_bytes_atomic(path, data)
    return len(data), notes
