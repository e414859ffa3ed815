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
BLOCK = 32                 # fewest Gaussians per step of the front-to-back loop (finished tiles drop out between steps)
MAX_BLOCK = 2048           # most Gaussians per step, used when few tiles are still busy
STEP_ELEMENTS = 1 << 21    # pixels x Gaussians per step (memory ~ 8 MB per temporary array)
PIXELS_PER_STEP = 1 << 16  # tiles x 256 pixels processed together


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
    d = features.shape[1]
    tw, th = (width + tile - 1) // tile, (height + tile - 1) // tile
    out = background.to(torch.float32).expand(th * tile * tw * tile, d).clone().reshape(th, tile, tw, tile, d)
    out = out.permute(0, 2, 1, 3, 4).reshape(th * tw, tile * tile, d)
    t_out = torch.ones(th * tw, tile * tile)
    for tiles, c, tt in _tile_steps(proj, opacities, features, width, height, tile):
        out[tiles] = c + tt[..., None] * out[tiles]
        t_out[tiles] = tt
    img = out.reshape(th, tw, tile, tile, d).permute(0, 2, 1, 3, 4).reshape(th * tile, tw * tile, d)
    alpha = 1.0 - t_out.reshape(th, tw, tile, tile).permute(0, 2, 1, 3).reshape(th * tile, tw * tile)
    return img[:height, :width], alpha[:height, :width]


def _tile_steps(proj: Projected, opacities: Tensor, features: Tensor, width: int, height: int, tile: int,
                collect: list | None = None):
    """Composite the tiles that hold Gaussians, PIXELS_PER_STEP pixels at a time: yields each step's tile
    indices, colour (T, P, D) without background and final transmittance (T, P) (see :func:`_composite_tiles`,
    which also fills ``collect``)."""
    n, d = features.shape
    tw = (width + tile - 1) // tile
    gids, starts, counts = tile_lists(proj, width, height, tile)
    if not len(gids):
        return
    # a dummy Gaussian (index n, opacity 0) fills the padding of shorter tiles
    mx = torch.cat([proj.means2d[:, 0], proj.means2d.new_zeros(1)])
    my = torch.cat([proj.means2d[:, 1], proj.means2d.new_zeros(1)])
    ca, cb, cc = (torch.cat([proj.conics[:, k], proj.conics.new_zeros(1)]) for k in range(3))
    op = torch.cat([opacities.to(torch.float32), opacities.new_zeros(1, dtype=torch.float32)])
    feats = torch.cat([features.to(torch.float32), features.new_zeros(1, d, dtype=torch.float32)])
    busy = torch.nonzero(counts).squeeze(1)
    busy = busy[torch.sort(counts[busy], stable=True).indices]   # similar lengths share a step
    per_step = max(1, PIXELS_PER_STEP // (tile * tile))
    for s in range(0, len(busy), per_step):
        tiles = busy[s:s + per_step]
        c, tt = _composite_tiles(tiles, gids, starts, counts, tw, tile, width, height,
                                 mx, my, ca, cb, cc, op, feats, n, collect)
        yield tiles, c, tt


def _composite_tiles(tiles, gids, starts, counts, tw, tile, width, height, mx, my, ca, cb, cc, op, feats, n,
                     collect=None):
    """Front-to-back compositing of a set of tiles, BLOCK Gaussians at a time; returns (colour (T, P, D)
    without background, final transmittance (T, P)), pixels in row-major order within each tile. With
    ``collect`` (a list) each Gaussian's non-zero compositing weights w (its alpha times the transmittance in
    front of it) are appended to it as (tile, pixel in the tile, Gaussian, w)."""
    n_t, n_p, d = len(tiles), tile * tile, feats.shape[1]
    ox = ((tiles % tw) * tile).to(torch.float32)                      # tile origins
    oy = ((tiles // tw) * tile).to(torch.float32)
    centres = torch.arange(tile, dtype=torch.float32) + 0.5           # pixel centres within a tile
    inside = ((oy[:, None, None] + centres[:, None]) < height) & ((ox[:, None, None] + centres) < width)
    acc = torch.zeros(n_t, n_p, d)
    t_out = torch.ones(n_t, n_p)
    t_run = inside.reshape(n_t, n_p).to(torch.float32)  # transmittance including a pixel's stopping Gaussian
    cnt, st = counts[tiles], starts[tiles]
    rows = torch.arange(n_t)
    k0, k_end = 0, int(cnt.max())
    while k0 < k_end:
        live = (cnt > k0) & (t_run > T_MIN).any(1)
        if not bool(live.any()):
            break
        r = rows[live]
        a = len(r)
        # few busy tiles (small images, tiles that never fill up): bigger steps, fewer Python iterations
        block = max(BLOCK, min(MAX_BLOCK, STEP_ELEMENTS // (a * n_p)))
        k = k0 + torch.arange(block)
        k0 += block
        valid = k[None, :] < cnt[r, None]
        g = torch.where(valid, gids[(st[r, None] + k).clamp_max(len(gids) - 1)], n)   # (A, B)
        # sigma = 0.5 a dx^2 + b dx dy + 0.5 c dy^2 with d = mean - pixel, separable over a tile's columns/rows
        dx = (mx[g] - ox[r, None])[:, None, :] - centres[None, :, None]              # (A, 16 columns, B)
        dy = (my[g] - oy[r, None])[:, None, :] - centres[None, :, None]              # (A, 16 rows, B)
        nsx = -0.5 * ca[g][:, None, :] * dx * dx
        nsy = -0.5 * cc[g][:, None, :] * dy * dy
        nbdx = -cb[g][:, None, :] * dx
        nsigma = (nsy[:, :, None, :] + nsx[:, None, :, :]).addcmul_(dy[:, :, None, :], nbdx[:, None, :, :])
        nsigma = nsigma.reshape(a, n_p, block)                                        # -sigma
        # exp() of very negative numbers is ~10x slower (denormals); below -40 alpha is skipped anyway
        alpha = torch.exp(nsigma.clamp_min(-40.0)).mul_(op[g][:, None, :]).clamp_max_(MAX_ALPHA)
        alpha.masked_fill_((alpha < ALPHA_THRESHOLD) | (nsigma > 0), 0.0)            # skipped Gaussians
        # transmittance before/after each Gaussian, multiplied in gsplat's order: T_k = T_{k-1} (1 - alpha_k)
        t_all = torch.empty(a, n_p, block + 1)
        t_all[..., 0] = t_run[r]
        torch.sub(1.0, alpha, out=t_all[..., 1:])
        t_all.cumprod_(-1)
        # the Gaussian that would take T to 1e-4 or below, and all after it, are not composited; as T only
        # decreases they form a suffix of the block
        stopped = t_all[..., 1:] <= T_MIN
        w = alpha.mul_(t_all[..., :-1]).masked_fill_(stopped, 0.0)
        acc[r] += torch.bmm(w, feats[g])
        if collect is not None:
            ti, pi, bi = torch.nonzero(w, as_tuple=True)
            collect.append((tiles[r[ti]], pi, g[ti, bi], w[ti, pi, bi]))
        t_out[r] = torch.minimum(t_out[r], t_all[..., 1:].masked_fill(stopped, 2.0).amin(-1))
        t_run[r] = t_all[..., -1]
    return acc, t_out


def composite_weights(proj: Projected, opacities: Tensor, width: int, height: int,
                      tile: int = TILE) -> tuple[Tensor, Tensor, Tensor]:
    """The render as a sparse matrix: every non-zero compositing weight w(p) (a Gaussian's alpha times the
    transmittance in front of it, as :func:`rasterize` composites it) as (pixel index y * width + x, Gaussian,
    w). Then image = W colours + (1 - W 1) background, and the render's adjoint is W^T: a fit of the colours
    renders once and iterates on W."""
    tw = (width + tile - 1) // tile
    found: list = []
    for _ in _tile_steps(proj, opacities, proj.means2d.new_zeros(proj.means2d.shape[0], 1), width, height, tile,
                         collect=found):
        pass
    if not found:
        empty = torch.zeros(0, dtype=torch.int64)
        return empty, empty, torch.zeros(0)
    t, p, g, w = (torch.cat(x) for x in zip(*found))
    y = (t // tw) * tile + p // tile
    x = (t % tw) * tile + p % tile
    return y * width + x, g, w
