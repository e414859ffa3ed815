"""The default reconstructor: a photo's Gaussians from geometry alone (no network).

Fit the head to the photo, add the body below the chin from the silhouette, subdivide the canonical head, lay one flat Gaussian on every point, and colour
it from the photo where the photo sees it (mirror image, then smooth fill elsewhere); the mouth cavity is
dark and the teeth off-white where the photo shows neither.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import torch

from ..gaussians import GaussianAvatar, Gaussians
from ..lbs import blended_rotations
from ..params import FrameParams
from ..rig import Rig, RigPoints
from ..camera import Camera
from .bust import (add_bust, body_disc_scales, body_fade, carry_colours, inside_silhouette, person_silhouette,
                   source_rows)
from .carve import carve_to_silhouette, grow_to_silhouette, inside_offsets, to_rest
from .colour import MIN_FACING, bilinear, facing, photo_colours
from .surface import NORMAL_SCALE, surface_discs

OPACITY = 0.98
# disc size / point spacing. At 0.5, 77% of the face's pixels (2x the photo's scale) stayed below alpha 0.99 and
# what lay behind the skin showed through as a fine grid; 0.6 closes it better but blurs the face below SSIM 0.85
TANGENT_SCALE = 0.55
BACK_TANGENT_SCALE = 0.9  # the same on the back, turned away from the photo's camera ...
BACK_FACING = 0.3         # ... by more than this cosine
REFINE_STEPS = 4
REFINE_RANGE_PX = 1       # a refined colour stays within the photo's colours this near its point's pixel ...
MAX_RANGE_PX = 6          # ... or, for a wider Gaussian, within its sigma of it, up to this
VISIBLE_SHARE = 0.25      # a Gaussian shown over less of its footprint than this moves by that share only
INNER_REGIONS = ("teeth_upper", "teeth_lower", "mouth")  # ... and behind the lips, by the share that shows
MIN_ALPHA = 0.05          # pixels the render covers less than this take no part in the refinement
FACE_MASK_MARGIN_PX = 3.0
CRANIUM_MASK_MARGIN_PX = 10.0  # ... the cranium's when it is not carved to the silhouette (a FLAME head's)
BODY_MASK_MARGIN_PX = 0.0  # the body is built from the silhouette: its outline is the photo's, and takes its colours
BODY_GRAZING = -0.15      # the body's points seen edge-on (at its outline) count as seen down to this cosine
STICK_OUT_SPACINGS = 1.0  # the body's back shows past its front where no front point projects this near (the
                          # front's discs reach about one spacing: bust.body_rings spaces points alike both ways)
LID_ROWS_PX = 3.0         # the lid takes the colours of the photo's lowest rows of the body, this many pixels deep
COARSE_REGIONS = ("cranium", "eyeball_l", "eyeball_r")  # the parts turned away from the photo are left coarse ...
COARSE_FACING = -0.2      # ... i.e. turned away by more than this cosine
HIDDEN_NECK_M = 0.02      # ... and the head's neck this far below the chin, inside the body's
FIXED_COLOURS = {"mouth": (0.16, 0.06, 0.06), "teeth_upper": (0.86, 0.83, 0.76), "teeth_lower": (0.86, 0.83, 0.76)}
SKIN_DEFAULT = (0.62, 0.48, 0.4)


@dataclass(frozen=True, eq=False)
class Reconstruction:
    avatar: GaussianAvatar
    camera: Camera             # the photo's camera (world = canonical head frame)
    photo_params: FrameParams  # the photo's pose/expression on the avatar's rig
    seen: np.ndarray           # (N,) bool: Gaussians whose colour the photo showed
    timings: dict[str, float] = field(default_factory=dict)


def gaussians_from_photo(points: RigPoints, params: FrameParams, camera: Camera, rgb: np.ndarray,
                         mask: np.ndarray, carved: np.ndarray | None = None) -> tuple[Gaussians, np.ndarray]:
    """Flat, opaque Gaussians on ``points``, coloured from the photo seen through ``camera`` with the rig
    posed by ``params``. ``carved``: the silhouette the cranium was carved to (:mod:`.carve`), if it was."""
    rest = points.vertices.astype(np.float64)
    scales, rotations, normals = surface_discs(rest, points.faces, tangent=TANGENT_SCALE)
    body, cranium, face = points.in_region("bust"), points.in_region("cranium"), points.in_region("face")
    lid = points.in_region("bust_lid")   # where the photo's lower edge cuts the body (bust.body_lid)
    if body.any():
        scales[body] = body_disc_scales(rest[body], TANGENT_SCALE, NORMAL_SCALE)
    with torch.no_grad():
        sk = points.deform(params)
    posed = sk.vertices[0].numpy().astype(np.float64)
    # normals turn with the points' blended joint rotation (the jaw, for the photo's pose)
    t = blended_rotations(points.lbs_weights, sk.rotations[0])
    posed_normals = np.einsum("nij,nj->ni", t, normals)
    # the head model's cranium is a guess at the hair's volume: near the silhouette it may bulge past the
    # person, where the soft, coarse mask still says "person"; keep it further from the mask's edge, unless it
    # was carved to the silhouette (then its outline is the photo's, and the hair there takes its colours)
    cranium_margin = FACE_MASK_MARGIN_PX if carved is not None else CRANIUM_MASK_MARGIN_PX
    margin = np.select([cranium, body], [cranium_margin, BODY_MASK_MARGIN_PX], FACE_MASK_MARGIN_PX)
    # the head's top, above the face (hair, or a bald scalp), is carried round the back of the head above the
    # face's middle; below, the back of the head blends into the neck
    face_y = rest[face, 1]
    top = cranium & (rest[:, 1] > face_y.max()) if len(face_y) else cranium
    back_of_head = cranium & (rest[:, 1] > face_y.mean()) if len(face_y) else cranium
    least = np.where(body, seen_from_photo(posed, posed_normals, camera, body), MIN_FACING)
    colours, seen = photo_colours(posed, posed_normals, points.faces, rest, camera, rgb, mask,
                                  default=SKIN_DEFAULT, margin_px=margin, carry=((top, back_of_head),),
                                  min_facing=least)
    # the body's points over a gap in the silhouette (between shoulder lobes, an arm and the torso) are kept
    # out (opacity 0, below): what the photo shows there is the backdrop, no colour for the body to carry on
    off_person = np.zeros(points.n_points, bool)
    if body.any():
        off_person[body] = inside_silhouette(posed[body], camera, mask) == 0
    seen &= ~off_person
    # a body point's height is the photo row its ring was built from (metres at the body's depth): a ring is one
    # row of clothing, though in the canonical frame its sides lie lower than its front and back, and its back,
    # farther from the camera, projects onto a higher row than its front (bust.source_rows)
    uvz = camera.project(posed)
    rows = uvz[:, 1].copy()
    if body.any():
        neck = sk.joints[0, list(points.rig.joint_names).index("neck")].numpy().astype(np.float64)
        rows[body] = source_rows(posed[body], camera, neck)
    row_height = -rows / camera.fy * (np.median(uvz[body, 2]) if body.any() else 1.0)
    if body.any():  # the body's back: the colour of its sides at each height, not a blend of its front
        colours[body] = carry_colours(row_height[body], colours[body], seen[body], across=uvz[body, 0])
    unseen_lid = lid & ~seen
    if unseen_lid.any():
        colours[unseen_lid] = lid_colours(uvz, rows, colours, seen & body, unseen_lid)
    for region, colour in FIXED_COLOURS.items():
        sel = points.in_region(region) & ~seen
        colours[sel] = colour
    # the back, turned away from the photo, has no detail to blur: there the discs overlap more, so the shell
    # is opaque and nothing inside the head (eyeballs, mouth) shows through it. (Only the skull and the body:
    # not at the outline, where wider discs would spread past the silhouette, nor inside the face.)
    away = facing(posed, posed_normals, camera) < -BACK_FACING
    scales = scales.copy()
    shell = cranium | body
    scales[away & ~seen & shell, :2] *= BACK_TANGENT_SCALE / TANGENT_SCALE
    offsets = np.zeros((points.n_points, 3))
    if carved is not None:
        # the discs the photo does not see stop inside the silhouette, not in a halo round the hair
        inside = np.flatnonzero(cranium & ~seen)
        moves = inside_offsets(posed[inside], posed_normals[inside], scales[inside, :2].max(1), scales[inside, 2],
                               camera, carved)
        offsets[inside] = to_rest(points.lbs_weights[inside], sk.rotations[0], moves)
    opacities = np.full(points.n_points, OPACITY)
    if body.any():
        face_rows = row_height[face]
        # where the photo's lower edge cuts the person, the front view must show the photo as it is, down to
        # that edge (the body then has a lid: bust.body_lid); a person who ends inside the photo (a bust that
        # fades out) fades out alike
        if not lid.any():
            opacities[body] *= body_fade(row_height[body], float(np.ptp(face_rows)) if len(face_rows) else 0.0)
        opacities[off_person] = 0.0
        # the head model's own neck reaches ~10 cm below the chin; a photo cut off close under the chin (a
        # tight portrait) gives a shorter body, and the neck then hung below the bust's lower end, a stub seen
        # from behind and from below: none of the head shows below the body's lowest point
        opacities[~body & (rest[:, 1] < rest[body, 1].min())] = 0.0
    g = Gaussians(
        offsets=offsets.astype(np.float32),
        colors=colours.astype(np.float32),
        opacities=opacities.astype(np.float32),
        scales=scales.astype(np.float32),
        rotations=rotations.astype(np.float32),
    )
    return g, seen


def turned_away(rig: Rig, params: FrameParams, camera: Camera) -> np.ndarray:
    """(V,) bool: the rig's vertices the photo cannot show, left coarse by the subdivision: those of the skull
    and the eyeballs whose normal, posed as in the photo, turns away from the photo's camera (cosine below
    COARSE_FACING; the back of the head takes the hair's colour carried on smoothly, and the eyeballs' backs
    never show), and, when the rig has a body, the head's own neck more than HIDDEN_NECK_M below the chin,
    inside the body's neck. (The body's back stays fine: coarse, its wider discs spread below the bust's open
    end, seen from the front.)"""
    import trimesh

    with torch.no_grad():
        posed = rig.deform(params).vertices[0].numpy().astype(np.float64)
    cos = facing(posed, trimesh.Trimesh(posed, rig.faces, process=False).vertex_normals, camera)
    shell = np.zeros(rig.n_vertices, bool)
    for region in COARSE_REGIONS:
        shell[rig.regions.get(region, [])] = True
    coarse = shell & (cos < COARSE_FACING)
    body = rig.regions.get("bust")
    face = rig.regions.get("face")
    if body is not None and len(body) and face is not None and len(face):
        # the head's own neck below the chin lies inside the body's neck, which the photo shows instead
        cranium = np.zeros(rig.n_vertices, bool)
        cranium[rig.regions.get("cranium", [])] = True
        coarse |= cranium & (rig.vertices[:, 1] < rig.vertices[face, 1].min() - HIDDEN_NECK_M)
    return coarse


def lid_colours(uvz: np.ndarray, rows: np.ndarray, colours: np.ndarray, seen: np.ndarray,
                lid: np.ndarray) -> np.ndarray:
    """Colours for the ``lid`` points closing the body where the photo's lower edge cuts it: the body goes on
    below, so each takes the colour of the ``seen`` point nearest it across the picture among those on the
    photo's lowest rows (within LID_ROWS_PX of the lowest), as a cut through the clothing would show."""
    from scipy.spatial import cKDTree

    if not seen.any():
        return colours[lid]
    low = np.flatnonzero(seen & (rows >= rows[seen].max() - LID_ROWS_PX))
    _, near = cKDTree(uvz[low, :1]).query(uvz[lid, :1])
    return colours[low[near]]


def seen_from_photo(posed: np.ndarray, normals: np.ndarray, camera: Camera, body: np.ndarray) -> np.ndarray:
    """(N,) the least cosine to the photo's camera at which each of the body's points counts as facing it.

    The body is built from the silhouette, so the photo shows all of it that its camera sees: its outline, where
    the points are seen edge-on (they take the photo's colour, not the back's), and the back where it sticks
    out past the front (the back is as high as the front but farther, so above a ring that widens it projects
    a little higher: bust.body_rings). A back point sticks out when no front-facing point projects within
    the front's own spacing of it (as far as its discs cover); the rest of the back lies behind the front."""
    from scipy.spatial import cKDTree

    uv = camera.project(posed)[:, :2]
    front = facing(posed, normals, camera) > 0
    out = np.full(len(posed), BODY_GRAZING)
    if (front & body).sum() < 2:
        return out
    spacing = np.median(cKDTree(uv[front & body]).query(uv[front & body], k=2)[0][:, 1])
    gap = STICK_OUT_SPACINGS * spacing
    near_front = cKDTree(uv[front]).query(uv, distance_upper_bound=gap)[0] <= gap
    out[body & ~front & ~near_front] = -np.inf
    return out


def crop_camera(camera: Camera, u: np.ndarray, v: np.ndarray, margin: int = 4) -> tuple[Camera, int, int]:
    """The part of ``camera``'s image that holds pixels (u, v), as a camera of its own, and its offset."""
    x0 = int(max(np.floor(u.min()) - margin, 0))
    y0 = int(max(np.floor(v.min()) - margin, 0))
    x1 = int(min(np.ceil(u.max()) + margin, camera.width))
    y1 = int(min(np.ceil(v.max()) + margin, camera.height))
    crop = Camera(max(x1 - x0, 1), max(y1 - y0, 1), camera.fx, camera.fy, camera.cx - x0, camera.cy - y0,
                  world_to_camera=camera.world_to_camera)
    return crop, x0, y0


def refine_colours(avatar: GaussianAvatar, params: FrameParams, camera: Camera, rgb: np.ndarray,
                   seen: np.ndarray, steps: int | None = None, mask: np.ndarray | None = None) -> GaussianAvatar:
    """Make the render at the photo's camera match the photo (inside the person ``mask``, when given) by
    changing the colours of the ``seen`` Gaussians.

    The render is linear in the colours: image = W colours + (1 - alpha) white, W holding each Gaussian's
    compositing weight at each pixel (its alpha times the transmittance in front of it;
    :func:`lam_core.render.cpu.composite_weights` renders W once). Each step moves every seen Gaussian's colour
    by its weighted average of the residual photo - render over the pixels where it shows (the render's
    adjoint W^T, each pixel's residual first divided by its alpha): a step of SIRT, the simultaneous iterative
    reconstruction technique, which converges to the least-squares colours. A point sample of the residual at
    each Gaussian's centre, as before, ignored where a Gaussian actually shows: on the body, whose lower rings
    stand nearer the camera and cover the rings above, the colour seen at a pixel came from a point 3 px away
    (median) and the colours never converged. A Gaussian that shows over less than VISIBLE_SHARE of its footprint moves by that share of
    the average only, and inside the mouth by the share that shows, however large (teeth behind the lips,
    whose visible pixels beside the lips once turned them into reddish dots).
    Only the crop holding the seen Gaussians is rendered, and only Gaussians facing the camera.
    Each colour stays within the range of the photo's colours round its pixel, within its own sigma there
    (REFINE_RANGE_PX to MAX_RANGE_PX): at a strong edge (skin beside dark hair) the steps overshoot, and the
    overshoot, hidden in the blur of the photo's view, showed from the side as white dots.
    """
    import scipy.sparse as sparse

    from ..render.cpu import composite_weights
    from ..render.projection import intrinsics_tensors, project_gaussians
    from ..rotations import quaternion_to_matrix

    g = avatar.gaussians
    photo = rgb.astype(np.float64) / 255.0
    colours = g.colors.astype(np.float64)
    posed = avatar.animate(params)
    means = posed.means[0].numpy().astype(np.float64)
    uvz = camera.project(means)
    if not seen.any():
        return avatar
    crop, x0, y0 = crop_camera(camera, uvz[seen, 0], uvz[seen, 1])
    # Gaussians turned well away from the camera are hidden behind the front ones: leave them out
    normals = quaternion_to_matrix(posed.quats[0])[:, :, 2].numpy()
    keep = np.flatnonzero(facing(means, normals, camera) > -0.3)
    k = torch.from_numpy(keep)
    viewmat, K = intrinsics_tensors(crop)
    opac = posed.opacities[k].to(torch.float32)
    proj = project_gaussians(posed.means[0][k], posed.quats[0][k], posed.scales[k], opac, viewmat, K,
                             crop.width, crop.height)
    # each Gaussian's weight summed over the pixels, were nothing in front of it: opacity x its 2D footprint
    det = (proj.conics[:, 0] * proj.conics[:, 2] - proj.conics[:, 1] ** 2).clamp_min(1e-12)
    footprint = (opac * 2 * np.pi / det.sqrt()).numpy().astype(np.float64)
    target = photo[y0:y0 + crop.height, x0:x0 + crop.width]
    # only the person counts: past the silhouette the render shows a disc's spill where the photo shows the
    # backdrop, and fitting that would pale the outline's colours towards the backdrop's
    person = np.ones((crop.height, crop.width)) if mask is None else np.clip(
        np.asarray(mask, np.float64)[y0:y0 + crop.height, x0:x0 + crop.width], 0.0, 1.0)
    moved = seen[keep] & proj.visible.numpy()
    ids = keep[moved]
    u, v = uvz[ids, 0] - x0, uvz[ids, 1] - y0
    pu, pv = np.clip(u.astype(int), 0, crop.width - 1), np.clip(v.astype(int), 0, crop.height - 1)
    # each moved Gaussian's bounds: the photo's colours within its sigma (at least REFINE_RANGE_PX) of its pixel
    conic = proj.conics[torch.from_numpy(np.flatnonzero(moved))].numpy().astype(np.float64)
    a, b, c = conic[:, 0], conic[:, 1], conic[:, 2]
    smallest = (a + c) / 2 - np.sqrt(((a - c) / 2) ** 2 + b ** 2)     # the conic's smaller eigenvalue
    sigma = 1.0 / np.sqrt(np.maximum(smallest, 1e-9))                 # the footprint's larger sigma
    reach = np.clip(np.round(sigma), REFINE_RANGE_PX, MAX_RANGE_PX).astype(int)
    # inside the mouth (behind the lips) a Gaussian moves by the share of its footprint that shows, however small
    inner = np.zeros(len(ids), bool)
    for region in INNER_REGIONS:
        inner |= avatar.points.in_region(region)[ids]
    floor = np.where(inner, 1.0, VISIBLE_SHARE)
    low, high = np.empty((len(ids), 3)), np.empty((len(ids), 3))
    for r in np.unique(reach):
        at = np.flatnonzero(reach == r)
        d = np.arange(-r, r + 1)
        rows = np.clip(pv[at, None, None] + d[None, :, None], 0, crop.height - 1)
        cols = np.clip(pu[at, None, None] + d[None, None, :], 0, crop.width - 1)
        near = target[rows, cols].reshape(len(at), -1, 3)
        low[at], high[at] = near.min(1), near.max(1)
    # the render as a matrix (each Gaussian's compositing weight at each pixel), rendered once: each step is
    # then two sparse products, the render W c and its adjoint W^T
    pixel, which, w = composite_weights(proj, opac, crop.width, crop.height)
    W = sparse.csr_matrix((w.numpy().astype(np.float64), (pixel.numpy(), which.numpy())),
                          shape=(crop.width * crop.height, len(keep)))
    Wt = W.T.tocsr()
    alpha = np.asarray(W.sum(1)).ravel()
    weight = np.asarray(W.sum(0)).ravel()[moved]
    share = np.maximum(weight, floor * footprint[moved])
    drawn = alpha > MIN_ALPHA
    pixel_weight = np.where(drawn, person.reshape(-1) / np.maximum(alpha, MIN_ALPHA), 0.0)[:, None]
    flat = target.reshape(-1, 3)
    for _ in range(REFINE_STEPS if steps is None else steps):
        img = W @ np.clip(colours[keep], 0, 1) + (1.0 - alpha)[:, None]
        gathered = Wt @ ((flat - img) * pixel_weight)
        colours[ids] += gathered[moved] / np.maximum(share, 1e-9)[:, None]
        colours[ids] = np.clip(colours[ids], low, high)
    return GaussianAvatar(avatar.points, replace(g, colors=np.clip(colours, 0, 1).astype(np.float32)))


def reconstruct(rgb: np.ndarray, face, mask: np.ndarray, head=None, levels: int = 1,
                focal: float | None = None, timer=None, bust: bool = True, torso_yaw: float = 0.0) -> Reconstruction:
    """Photo (with its landmarks and person mask) -> an animatable avatar.

    ``head``: None for the open head (or an :class:`~lam_core.open_head.OpenHead`), or a FLAME-layout
    :class:`~lam_core.head_model.HeadModel` carrying a MediaPipe landmark embedding. ``levels``: midpoint
    subdivisions of the head mesh (1: ~20K Gaussians on the head, 2: ~80K). ``bust``: give the open head the
    neck, shoulders and upper torso the photo shows below the chin (:mod:`.bust`; a FLAME head keeps FLAME's
    layout), turned by ``torso_yaw`` (:func:`lam_core.photo.pose.torso_yaw`).
    """
    from ..head_model import HeadModel

    timer = timer or _NullTimer()
    is_flame = isinstance(head, HeadModel)
    if is_flame:
        from .fit_flame import fit_flame

        model = head
        with timer("fit"):
            fit = fit_flame(model, face, focal=focal)
    else:
        from ..open_head import load_open_head_parts
        from .fit_open_head import fit_open_head

        with timer("head model"):
            head = head or load_open_head_parts()
        model = head.model
        with timer("fit"):
            fit = fit_open_head(head, face, mask, focal=focal)
    with timer("bust"):
        rig = Rig.from_head_model(model, fit.shape)
        sil = None
        if bust and not is_flame:  # a FLAME head keeps FLAME's exact layout (5,023 vertices, 20,018 points)
            sil = person_silhouette(mask, face.points)
            rig = grow_to_silhouette(rig, fit.params, fit.camera, sil)
            rig = carve_to_silhouette(rig, fit.params, fit.camera, sil)
            # the discs that stand at the body's level edges (the back's, the widening rows') measure about
            # TANGENT_SCALE of the rings' spacing once subdivided (the front's half that; on the astronaut and
            # on LAM's p2-1 the outline then stands as far past the silhouette as it falls short of it); each
            # further subdivision halves them
            rig = add_bust(rig, fit.params, fit.camera, sil, face.points, face.height_px, torso_yaw,
                           disc_sigma=TANGENT_SCALE * 2.0 ** (1 - levels))
    with timer("subdivide"):
        # what the photo cannot show of the open head (the back of the skull, the eyeballs' backs, the neck
        # inside the body) is subdivided one level less than the rest: ~20K by default, ~88K with --points 80k
        # (dense all over it was 103K, with a less covered outline: the back's wider discs pile up along it);
        # a FLAME head keeps FLAME's exact layout
        adaptive = not is_flame
        points = rig.subdivide(levels, coarse=turned_away(rig, fit.params, fit.camera) if adaptive else None)
    with timer("gaussians"):
        g, seen = gaussians_from_photo(points, fit.params, fit.camera, rgb, mask, carved=sil)
    with timer("refine"):
        avatar = refine_colours(GaussianAvatar(points, g), fit.params, fit.camera, rgb, seen, mask=mask)
    return Reconstruction(avatar, fit.camera, fit.params, seen, getattr(timer, "times", {}))


class _NullTimer:
    def __call__(self, name):
        import contextlib

        return contextlib.nullcontext()
