"""``skin.glb`` of the official LAM zip -> the skinned mesh and its ARKit morph targets, and the mapping of
its skeleton onto the project's 5 rig joints.

The file holds one skinned mesh (20,018 vertices for LAM-20K: the once-subdivided FLAME head, y up, metres,
at standing height), a ~262-joint body skeleton whose head, neck and collar bones carry the weights, and 51
ARKit morph targets (names in the mesh's ``extras.targetNames``, deltas as sparse accessors). Joint rest
positions come from the inverse bind matrices (the mesh is bound in its rest pose).

Skeleton -> rig joints [global, neck, jaw, eye_l, eye_r]: ``neckLower`` is the global joint, ``head`` the
neck joint (FLAME's neck joint turns the head), ``lowerJaw`` and ``lEye``/``rEye`` the jaw and eyes; each
skin joint's weight goes to the rig joint of its nearest mapped ancestor (itself included), and joints
outside the head (chest, collars, the neck bones) to the global joint.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import OfficialZipError
from .glb import Glb

RIG_BONES = {"global": "neckLower", "neck": "head", "jaw": "lowerJaw", "eye_l": "lEye", "eye_r": "rEye"}
MAX_MORPHS = 256
MAX_JOINTS = 1024


@dataclass(frozen=True, eq=False)
class Skin:
    vertices: np.ndarray        # (V, 3) float32, rest positions (metres, y up)
    faces: np.ndarray           # (F, 3) int64
    joint_names: tuple[str, ...]  # the skin's joints, in its order
    joint_parents: tuple[int, ...]  # parent of each skin joint within the skin's joints (-1 if none)
    inverse_bind: np.ndarray    # (J, 4, 4) float64, row-major
    skin_joints: np.ndarray     # (V, 4) int64 indices into joint_names
    skin_weights: np.ndarray    # (V, 4) float32
    morph_names: tuple[str, ...]
    morph_deltas: np.ndarray    # (V, 3, K) float32

    @property
    def joint_positions(self) -> np.ndarray:
        """(J, 3) rest position of each skin joint in mesh space."""
        return np.linalg.inv(self.inverse_bind)[:, :3, 3]

    def rig_weights(self, rig_joint_names) -> np.ndarray:
        """(V, len(rig_joint_names)) LBS weights on the rig joints (rows sum to 1)."""
        to_rig = self.rig_joint_of_skin_joints(rig_joint_names)
        v = len(self.vertices)
        w = np.zeros((v, len(rig_joint_names)), np.float64)
        np.add.at(w, (np.repeat(np.arange(v), 4), to_rig[self.skin_joints].ravel()), self.skin_weights.ravel())
        s = w.sum(1, keepdims=True)
        w[s[:, 0] <= 0, 0] = 1.0
        return (w / np.maximum(w.sum(1, keepdims=True), 1e-12)).astype(np.float32)

    def rig_joint_of_skin_joints(self, rig_joint_names) -> np.ndarray:
        bone_to_rig = {RIG_BONES[n]: i for i, n in enumerate(rig_joint_names) if n in RIG_BONES}
        out = np.zeros(len(self.joint_names), np.int64)
        for j in range(len(self.joint_names)):
            k, seen = j, 0
            while k >= 0 and self.joint_names[k] not in bone_to_rig and seen <= len(self.joint_names):
                k, seen = self.joint_parents[k], seen + 1
            out[j] = bone_to_rig.get(self.joint_names[k], 0) if k >= 0 else 0
        return out

    def rig_joint_positions(self, rig_joint_names) -> np.ndarray:
        """(5, 3) rest positions of the rig joints (from the mapped bones)."""
        pos = self.joint_positions
        index = {n: i for i, n in enumerate(self.joint_names)}
        out = np.zeros((len(rig_joint_names), 3), np.float32)
        for i, name in enumerate(rig_joint_names):
            bone = RIG_BONES.get(name)
            if bone not in index:
                raise OfficialZipError(f"skin.glb: the skeleton has no '{bone}' joint (for the rig's {name} joint)")
            out[i] = pos[index[bone]]
        return out


def node_parents(glb: Glb) -> list[int]:
    nodes = glb.items("nodes")
    parents = [-1] * len(nodes)
    for i, n in enumerate(nodes):
        children = n.get("children", [])
        if not isinstance(children, list):
            glb.fail(f"nodes[{i}].children is not a list")
        for c in children:
            if type(c) is not int or not 0 <= c < len(nodes) or parents[c] != -1 or c == i:
                glb.fail(f"nodes[{i}].children names node {c!r} out of range or twice")
            parents[c] = i
    for i in range(len(nodes)):  # no cycles: every chain reaches a root within len(nodes) steps
        k, steps = i, 0
        while k >= 0:
            k, steps = parents[k], steps + 1
            if steps > len(nodes):
                glb.fail("the node hierarchy has a cycle")
    return parents


def read_skin(glb: Glb) -> Skin:
    meshes = glb.items("meshes")
    skinned = [n for n in glb.items("nodes") if "mesh" in n and "skin" in n]
    if len(meshes) != 1 or len(skinned) != 1:
        glb.fail(f"expected one skinned mesh, found {len(meshes)} meshes and {len(skinned)} skinned nodes")
    mesh = meshes[0]
    prims = mesh.get("primitives")
    if not isinstance(prims, list) or len(prims) != 1 or not isinstance(prims[0], dict):
        glb.fail("the mesh must have exactly one primitive")
    prim = prims[0]
    if prim.get("mode", 4) != 4:
        glb.fail(f"the mesh primitive has mode {prim.get('mode')}, expected triangles (4)")
    attrs = prim.get("attributes")
    if not isinstance(attrs, dict) or not {"POSITION", "JOINTS_0", "WEIGHTS_0"} <= attrs.keys():
        glb.fail("the mesh lacks POSITION, JOINTS_0 or WEIGHTS_0")
    pos = glb.accessor(attrs["POSITION"])
    v = len(pos)
    if pos.shape[1] != 3 or pos.dtype != np.float32:
        glb.fail("POSITION is not float VEC3")
    joints = glb.accessor(attrs["JOINTS_0"])
    weights = glb.accessor(attrs["WEIGHTS_0"])
    if joints.shape != (v, 4) or weights.shape != (v, 4) or joints.dtype.kind != "u":
        glb.fail(f"JOINTS_0/WEIGHTS_0 are not {v} x VEC4 (joints {joints.shape}, weights {weights.shape})")
    if "indices" not in prim:
        glb.fail("the mesh has no triangle indices")
    idx = glb.accessor(prim["indices"])
    if idx.shape[1] != 1 or idx.dtype.kind != "u" or len(idx) % 3:
        glb.fail("the triangle indices are not a multiple of 3 unsigned integers")
    faces = idx.reshape(-1, 3).astype(np.int64)
    if faces.max() >= v:
        glb.fail(f"a triangle names vertex {faces.max()} of {v}")

    skin = glb.item("skins", skinned[0]["skin"])
    jlist = skin.get("joints")
    if not isinstance(jlist, list) or not 1 <= len(jlist) <= MAX_JOINTS:
        glb.fail(f"the skin must list 1..{MAX_JOINTS} joints")
    nodes = glb.items("nodes")
    if not all(type(j) is int and 0 <= j < len(nodes) for j in jlist) or len(set(jlist)) != len(jlist):
        glb.fail("the skin's joints are not distinct node indices")
    names = tuple(str(nodes[j].get("name", f"node{j}")) for j in jlist)
    parents_n = node_parents(glb)
    slot = {n: i for i, n in enumerate(jlist)}
    jparents = []
    for j in jlist:
        k = parents_n[j]
        while k >= 0 and k not in slot:
            k = parents_n[k]
        jparents.append(slot.get(k, -1))
    if "inverseBindMatrices" not in skin:
        glb.fail("the skin has no inverse bind matrices")
    ibm = glb.accessor(skin["inverseBindMatrices"])
    if ibm.shape != (len(jlist), 16) or ibm.dtype != np.float32:
        glb.fail(f"inverseBindMatrices are {ibm.shape}, expected {len(jlist)} float MAT4")
    ibm = ibm.reshape(-1, 4, 4).transpose(0, 2, 1).astype(np.float64)  # glTF stores columns
    if np.any(np.abs(np.linalg.det(ibm[:, :3, :3])) < 1e-12):
        glb.fail("an inverse bind matrix is singular")
    if joints.max() >= len(jlist):
        glb.fail(f"JOINTS_0 names joint {int(joints.max())} of {len(jlist)}")
    w = weights.astype(np.float32)
    if (w < 0).any() or (w.sum(1) <= 0).any():
        glb.fail("WEIGHTS_0 has negative weights or a vertex with none")

    targets = prim.get("targets", [])
    if not isinstance(targets, list) or len(targets) > MAX_MORPHS:
        glb.fail(f"the mesh has more than {MAX_MORPHS} morph targets")
    extras = mesh.get("extras") if isinstance(mesh.get("extras"), dict) else {}
    tnames = extras.get("targetNames", [])
    if not isinstance(tnames, list) or len(tnames) != len(targets) or not all(isinstance(n, str) and n for n in tnames) \
            or len(set(tnames)) != len(tnames):
        glb.fail(f"{len(targets)} morph targets but extras.targetNames does not name each once")
    deltas = np.zeros((v, 3, len(targets)), np.float32)
    for k, t in enumerate(targets):
        if not isinstance(t, dict) or "POSITION" not in t:
            glb.fail(f"morph target {tnames[k]} has no POSITION")
        d = glb.accessor(t["POSITION"])
        if d.shape != (v, 3) or d.dtype != np.float32:
            glb.fail(f"morph target {tnames[k]} has {d.shape}, expected ({v}, 3) floats")
        deltas[:, :, k] = d
    return Skin(vertices=pos.astype(np.float32), faces=faces, joint_names=names, joint_parents=tuple(jparents),
                inverse_bind=ibm, skin_joints=joints.astype(np.int64), skin_weights=w,
                morph_names=tuple(tnames), morph_deltas=deltas)
