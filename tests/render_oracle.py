"""A brute-force, per-pixel reference for gsplat 1.5's classic rasterisation, written independently of
lam_core.render: float64, plain Python loops, scipy for the rotations. Slow; for scenes of a few dozen
Gaussians on tiny images only."""

from __future__ import annotations

import math

import numpy as np
from scipy.spatial.transform import Rotation

NEAR, FAR = 0.01, 1e10


def oracle_render(means, quats, scales, colors, opacities, camera, background=(1.0, 1.0, 1.0),
                  clamp_jacobian=True, stop_at_1e4=True, tile_rule=True):
    """(rgb (H, W, 3), alpha (H, W), expected depth (H, W)) as float64 numpy arrays. The keyword switches
    turn single gsplat rules off, so tests can show that each rule matters."""
    means, quats, scales = (np.asarray(a, np.float64) for a in (means, quats, scales))
    colors, opacities = np.asarray(colors, np.float64), np.asarray(opacities, np.float64)
    W, H = camera.width, camera.height
    fx, fy, cx, cy = camera.fx, camera.fy, camera.cx, camera.cy
    view = np.asarray(camera.world_to_camera, np.float64)
    n_tx, n_ty = -(-W // 16), -(-H // 16)

    splats = []  # (depth, index, mean2d, conic, opacity, colour, tile box)
    for i in range(len(means)):
        x, y, z = view[:3, :3] @ means[i] + view[:3, 3]
        if z < NEAR or z > FAR:
            continue
        q = quats[i]
        rot = Rotation.from_quat([q[1], q[2], q[3], q[0]]).as_matrix()
        cov_world = rot @ np.diag(scales[i] ** 2) @ rot.T
        cov_cam = view[:3, :3] @ cov_world @ view[:3, :3].T
        u, v = x / z, y / z
        if clamp_jacobian:
            half_x, half_y = W / (2 * fx), H / (2 * fy)
            u = min(max(u, -(cx / fx + 0.3 * half_x)), (W - cx) / fx + 0.3 * half_x)
            v = min(max(v, -(cy / fy + 0.3 * half_y)), (H - cy) / fy + 0.3 * half_y)
        jac = np.array([[fx / z, 0.0, -fx * u / z], [0.0, fy / z, -fy * v / z]])
        cov2 = jac @ cov_cam @ jac.T + 0.3 * np.eye(2)
        if np.linalg.det(cov2) <= 0:
            continue
        o = opacities[i]
        if o < 1.0 / 255.0:
            continue
        ext = min(3.33, math.sqrt(2.0 * math.log(o * 255.0)))
        rx, ry = math.ceil(ext * math.sqrt(cov2[0, 0])), math.ceil(ext * math.sqrt(cov2[1, 1]))
        mx, my = fx * x / z + cx, fy * y / z + cy
        if mx + rx <= 0 or mx - rx >= W or my + ry <= 0 or my - ry >= H:
            continue
        box = (max(0, math.floor((mx - rx) / 16)), min(n_tx, math.ceil((mx + rx) / 16)),
               max(0, math.floor((my - ry) / 16)), min(n_ty, math.ceil((my + ry) / 16)))
        splats.append((z, i, (mx, my), np.linalg.inv(cov2), o, colors[i], box, (rx, ry)))
    splats.sort(key=lambda s: (s[0], s[1]))

    rgb = np.zeros((H, W, 3))
    alpha_img = np.zeros((H, W))
    depth = np.zeros((H, W))
    for r in range(H):
        for c in range(W):
            px, py = c + 0.5, r + 0.5
            tx, ty = c // 16, r // 16
            T, acc, acc_z = 1.0, np.zeros(3), 0.0
            for z, _, (mx, my), conic, o, col, box, (rx, ry) in splats:
                if tile_rule:
                    if not (box[0] <= tx < box[1] and box[2] <= ty < box[3]):
                        continue
                elif abs(mx - px) > rx or abs(my - py) > ry:
                    continue
                d = np.array([mx - px, my - py])
                sigma = 0.5 * d @ conic @ d
                if sigma < 0:
                    continue
                a = min(0.999, o * math.exp(-sigma))
                if a < 1.0 / 255.0:
                    continue
                if stop_at_1e4 and T * (1.0 - a) <= 1e-4:
                    break
                acc += col * a * T
                acc_z += z * a * T
                T *= 1.0 - a
            rgb[r, c] = acc + T * np.asarray(background, np.float64)
            alpha_img[r, c] = 1.0 - T
            depth[r, c] = acc_z / max(1.0 - T, 1e-10)
    return rgb, alpha_img, depth
