"""The whole open-head mesh: the face (landmark vertices first), cranium and neck, eye sockets, mouth cavity,
eyeballs and teeth, with named vertex regions and the loops where the parts meet.

Vertex order: face (468 landmarks, then the face's refinement vertices) | cranium and neck (the neck
opening's loop first) | right socket | left socket | mouth cavity | left eyeball | right eyeball | upper teeth
| lower teeth. The skin (face, cranium, sockets, mouth cavity) is one surface whose only opening is the neck's
base; eyeballs and teeth are closed meshes of their own.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from . import landmarks as L
from . import parts as P
from .cranium import build_cranium
from .face import build_face

N_CRANIUM_SAMPLES = 2408
SPACING = 0.75 * P.CM
REGIONS = ("face", "cranium", "socket_r", "socket_l", "mouth", "eyeball_l", "eyeball_r", "teeth_upper", "teeth_lower")
SKIN = ("face", "cranium", "socket_r", "socket_l", "mouth")


@dataclass(frozen=True, eq=False)
class HeadMesh:
    vertices: np.ndarray                  # (V, 3) metres
    faces: np.ndarray                     # (F, 3)
    from_landmarks: sp.csr_matrix         # (Vf, 468): face vertex = combination of landmark vertices
    regions: dict[str, np.ndarray]        # region name -> vertex ids
    loops: dict[str, np.ndarray]          # oval, eye_r, eye_l, mouth, neck: boundary loops of the parts
    eye_centres: np.ndarray               # (2, 3) [left (+x), right]
    iris: dict[int, tuple[str, np.ndarray]] = field(default_factory=dict)  # landmark id -> (eyeball region, point)
    occlusal_y: float = 0.0               # where the teeth meet
    sockets: dict[str, list[np.ndarray]] = field(default_factory=dict)     # rings of each pocket

    @property
    def n_face(self) -> int:
        return self.from_landmarks.shape[0]

    def region_of_vertices(self) -> np.ndarray:
        """(V,) index into REGIONS."""
        out = np.full(len(self.vertices), -1)
        for i, name in enumerate(REGIONS):
            out[self.regions[name]] = i
        return out

    def face_region(self) -> np.ndarray:
        """(F,) index into REGIONS of each triangle (by its first vertex, except skin triangles that touch
        the face, which belong to the face)."""
        r = self.region_of_vertices()[self.faces]
        return np.where((r == 0).any(1), 0, r[:, 0])


def build_head_mesh(canonical_vertices: np.ndarray, canonical_faces: np.ndarray) -> HeadMesh:
    face = build_face(canonical_vertices, canonical_faces)
    nf = len(face.vertices)
    cran = build_cranium(face.vertices, face.faces, face.oval, N_CRANIUM_SAMPLES, SPACING)
    verts = [face.vertices, cran.vertices]
    faces = [face.faces, cran.faces]
    regions = {"face": np.arange(nf), "cranium": nf + np.arange(len(cran.vertices))}
    nid = nf + len(cran.vertices)
    back = np.array([0.0, 0.0, -1.0])
    eye_centres = {}
    sockets = {}
    for side, loop in (("r", face.eye_r), ("l", face.eye_l)):
        c = P.eye_centre(face.vertices[loop])
        eye_centres[side] = c
        r = P.EYE_RADIUS + P.EYE_GAP
        pocket = P.grow_pocket(loop, face.vertices[loop], c, np.full(3, r), back, P.SOCKET_RINGS, nid,
                               P.POLE_SCALE)
        verts.append(pocket.vertices)
        faces.append(pocket.faces)
        regions[f"socket_{side}"] = nid + np.arange(len(pocket.vertices))
        sockets[f"socket_{side}"] = pocket.rings
        nid += len(pocket.vertices)
    mouth = P.grow_pocket(face.mouth, face.vertices[face.mouth], P.MOUTH_CENTRE, P.MOUTH_AXES, back,
                          P.MOUTH_RINGS, nid)
    verts.append(mouth.vertices)
    faces.append(mouth.faces)
    regions["mouth"] = nid + np.arange(len(mouth.vertices))
    sockets["mouth"] = mouth.rings
    nid += len(mouth.vertices)
    iris = {}
    for side, ids in (("l", L.IRIS_L), ("r", L.IRIS_R)):
        ev, ef = P.eyeball(eye_centres[side])
        verts.append(ev)
        faces.append(ef + nid)
        regions[f"eyeball_{side}"] = nid + np.arange(len(ev))
        nid += len(ev)
        for lid, p in zip(ids, P.iris_points(eye_centres[side], L.IRIS_DIRECTIONS)):
            iris[lid] = (f"eyeball_{side}", p)
    lv = face.vertices
    occlusal = float((lv[L.LIPS_INNER_UPPER[5]][1] + lv[L.LIPS_INNER_LOWER[5]][1]) / 2)
    front_upper = float(lv[L.LIPS_INNER_UPPER[5]][2]) - P.TEETH_BEHIND_LIPS[0]
    front_lower = float(lv[L.LIPS_INNER_LOWER[5]][2]) - P.TEETH_BEHIND_LIPS[1]
    for name, upper, front in (("teeth_upper", True, front_upper), ("teeth_lower", False, front_lower)):
        tv, tf = P.teeth_row(occlusal, front, upper)
        verts.append(tv)
        faces.append(tf + nid)
        regions[name] = nid + np.arange(len(tv))
        nid += len(tv)
    return HeadMesh(
        vertices=np.concatenate(verts), faces=np.concatenate(faces).astype(np.int64),
        from_landmarks=face.from_landmarks, regions=regions,
        loops={"oval": face.oval, "eye_r": face.eye_r, "eye_l": face.eye_l, "mouth": face.mouth, "neck": cran.rim},
        eye_centres=np.stack([eye_centres["l"], eye_centres["r"]]), iris=iris, occlusal_y=occlusal,
        sockets=sockets,
    )
