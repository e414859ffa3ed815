"""The CPU backend: gsplat 1.5's classic tile rasteriser, vectorised in float32 torch.

After :func:`~lam_core.render.projection.project_gaussians`:

* **Tiles.** The image is cut into 16 x 16 tiles (``ceil(W/16) x ceil(H/16)``). A visible Gaussian belongs to
  tiles ``[floor((x - rx)/16), ceil((x + rx)/16))`` x ``[floor((y - ry)/16), ceil((y + ry)/16))`` clamped to the
  grid. Every pixel of a tile evaluates every Gaussian of the tile (there is no per-pixel radius test).
* **Order.** Within a tile, Gaussians are composited front to back by camera-space z; equal depths keep the
  Gaussians' input order (gsplat's stable radix sort of (tile, depth) keys).
* **Per pixel** (centre ``(j + 0.5, i + 0.5)``), for each Gaussian with ``d = mean2d - pixel``:
  ``sigma = 0.5 (a dx^2 + c dy^2) + b dx dy``; ``alpha = min(0.999, opacity exp(-sigma))``; the Gaussian is
  skipped when ``sigma < 0`` or ``alpha < 1/255``; if ``T (1 - alpha) <= 1e-4`` the pixel is finished and this
  Gaussian is *not* composited; otherwise ``C += colour alpha T``, ``T *= 1 - alpha``.
* **Output.** ``rgb = C + T * background``, ``alpha = 1 - T``, expected depth = (sum of ``z alpha T``) /
  max(alpha, 1e-10) (0 where nothing was drawn), as gsplat's ``render_mode="RGB+ED"``.

Vectorised over tiles x pixels x a block of Gaussians: the front-to-back recurrence is a cumulative product
(float32, in gsplat's order of multiplication), and a tile stops being processed once all its pixels are finished.
"""

from __future__ import annotations

import torch
from torch import Tensor

from .projection import ALPHA_THRESHOLD, Projected

TILE = 16
T_MIN = 1e-4
MAX_ALPHA = 0.999
BLOCK = 32                # Gaussians per step of the front-to-back loop
PIXELS_PER_STEP = 1 << 16  # tiles x 256 pixels processed at once (memory ~ PIXELS_PER_STEP * BLOCK * 4 B per array)


def tile_ranges(proj: Projected, width: int, height: int, tile: int = TILE) -> tuple[Tensor, ...]:
    """Visible Gaussian ids and their tile rectangles [x0, x1) x [y0, y1) (int64), as gsplat computes them."""
    tw, th = (width + tile - 1) // tile, (height + tile - 1) // tile
    ids = torch.nonzero(proj.visible).squeeze(1)
    m = proj.means2d[ids]
    r = proj.radii[ids].to(torch.float32)
    tx, ty = m[:, 0] / tile, m[:, 1] / tile
    rx, ry = r[:, 0] / tile, r[:, 1] / tile
    x0 = torch.floor(tx - rx).clamp(0, tw).to(torch.int64)
    y0 = torch.floor(ty - ry).clamp(0, th).to(torch.int64)
    x1 = torch.ceil(tx + rx).clamp(0, tw).to(torch.int64)
    y1 = torch.ceil(ty + ry).clamp(0, th).to(torch.int64)
    return ids, x0, x1, y0, y1


def tile_lists(proj: Projected, width: int, height: int, tile: int = TILE) -> tuple[Tensor, Tensor, Tensor]:
    """Per-tile Gaussian lists in compositing order: (gaussian ids of all intersections, sorted by tile then
    depth; start offset of each tile; count of each tile)."""
    tw, th = (width + tile - 1) // tile, (height + tile - 1) // tile
    n_tiles = tw * th
    ids, x0, x1, y0, y1 = tile_ranges(proj, width, height, tile)
    counts = (x1 - x0) * (y1 - y0)
    keep = counts > 0
    ids, x0, y0, counts, wx = ids[keep], x0[keep], y0[keep], counts[keep], (x1 - x0)[keep]
    order = torch.sort(proj.depths[ids], stable=True).indices   # ties: input order (ids are ascending)
    ids, x0, y0, counts, wx = ids[order], x0[order], y0[order], counts[order], wx[order]
    total = int(counts.sum())
    first = torch.cumsum(counts, 0) - counts
    owner = torch.repeat_interleave(torch.arange(len(ids)), counts, output_size=total)
    local = torch.arange(total) - first[owner]
    w = wx[owner]
    tile_id = (y0[owner] + local // w) * tw + x0[owner] + local % w
    by_tile = torch.sort(tile_id, stable=True).indices          # keeps depth order within a tile
    gids = ids[owner[by_tile]]
    tile_counts = torch.bincount(tile_id, minlength=n_tiles)
    starts = torch.cumsum(tile_counts, 0) - tile_counts
    return gids, starts, tile_counts


def rasterize(proj: Projected, opacities: Tensor, features: Tensor, background: Tensor, width: int, height: int,
              tile: int = TILE) -> tuple[Tensor, Tensor]:
    """Composite projected Gaussians: ``features`` (N, D) -> image (H, W, D) with ``background`` (D,) behind,
    and alpha (H, W)."""
    n, d = features.shape
    tw, th = (width + tile - 1) // tile, (height + tile - 1) // tile
    out = background.to(torch.float32).expand(th * tile * tw * tile, d).clone().reshape(th, tile, tw, tile, d)
    out = out.permute(0, 2, 1, 3, 4).reshape(th * tw, tile * tile, d)
    t_out = torch.ones(th * tw, tile * tile)
    gids, starts, counts = tile_lists(proj, width, height, tile)
    if len(gids):
        # a dummy Gaussian (index n, opacity 0) fills the padding of shorter tiles
        mx = torch.cat([proj.means2d[:, 0], proj.means2d.new_zeros(1)])
        my = torch.cat([proj.means2d[:, 1], proj.means2d.new_zeros(1)])
        ca, cb, cc = (torch.cat([proj.conics[:, k], proj.conics.new_zeros(1)]) for k in range(3))
        op = torch.cat([opacities.to(torch.float32), opacities.new_zeros(1, dtype=torch.float32)])
        feats = torch.cat([features.to(torch.float32), features.new_zeros(1, d, dtype=torch.float32)])
        local = torch.arange(tile * tile)
        lx, ly = (local % tile).to(torch.float32) + 0.5, (local // tile).to(torch.float32) + 0.5
        busy = torch.nonzero(counts).squeeze(1)
        busy = busy[torch.sort(counts[busy], stable=True).indices]   # similar lengths share a step
        per_step = max(1, PIXELS_PER_STEP // (tile * tile))
        for s in range(0, len(busy), per_step):
            tiles = busy[s:s + per_step]
            c, tt = _composite_tiles(tiles, gids, starts, counts, tw, tile, lx, ly, width, height,
                                     mx, my, ca, cb, cc, op, feats, n)
            out[tiles] = c + tt[..., None] * out[tiles]
            t_out[tiles] = tt
    img = out.reshape(th, tw, tile, tile, d).permute(0, 2, 1, 3, 4).reshape(th * tile, tw * tile, d)
    alpha = 1.0 - t_out.reshape(th, tw, tile, tile).permute(0, 2, 1, 3).reshape(th * tile, tw * tile)
    return img[:height, :width], alpha[:height, :width]


def _composite_tiles(tiles, gids, starts, counts, tw, tile, lx, ly, width, height,
                     mx, my, ca, cb, cc, op, feats, n):
    """Front-to-back compositing of a set of tiles, BLOCK Gaussians at a time; returns (colour (T, P, D)
    without background, final transmittance (T, P))."""
    n_t, n_p, d = len(tiles), tile * tile, feats.shape[1]
    px = ((tiles % tw) * tile).to(torch.float32)[:, None] + lx      # (T, P) pixel centres
    py = ((tiles // tw) * tile).to(torch.float32)[:, None] + ly
    inside = (px < width) & (py < height)
    acc = torch.zeros(n_t, n_p, d)
    t_out = torch.ones(n_t, n_p)
    t_run = torch.where(inside, 1.0, 0.0)   # transmittance including the Gaussian that finished a pixel
    cnt, st = counts[tiles], starts[tiles]
    rows = torch.arange(n_t)
    arange_b = torch.arange(BLOCK)
    for k0 in range(0, int(cnt.max()), BLOCK):
        live = (cnt > k0) & (t_run > T_MIN).any(1)
        if not bool(live.any()):
            break
        r = rows[live]
        k = k0 + arange_b
        valid = k[None, :] < cnt[r, None]
        g = torch.where(valid, gids[(st[r, None] + k).clamp_max(len(gids) - 1)], n)   # (A, B)
        dx = mx[g][:, None, :] - px[r][:, :, None]                  # (A, P, B)
        dy = my[g][:, None, :] - py[r][:, :, None]
        sigma = 0.5 * (ca[g][:, None, :] * dx * dx + cc[g][:, None, :] * dy * dy) + cb[g][:, None, :] * dx * dy
        alpha = torch.clamp_max(op[g][:, None, :] * torch.exp(-sigma), MAX_ALPHA)
        alpha = torch.where((sigma >= 0) & (alpha >= ALPHA_THRESHOLD), alpha, 0.0)
        t_all = torch.cumprod(torch.cat([t_run[r][..., None], 1.0 - alpha], -1), -1)  # (A, P, B+1)
        t_before, t_after = t_all[..., :-1], t_all[..., 1:]
        drawn = t_after > T_MIN
        w = torch.where(drawn, alpha * t_before, 0.0)
        acc[r] += torch.bmm(w, feats[g])
        t_out[r] = torch.minimum(t_out[r], torch.where(drawn, t_after, 1.0).amin(-1))
        t_run[r] = t_after[..., -1]
    return acc, t_out
