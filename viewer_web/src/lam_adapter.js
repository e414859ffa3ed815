// From the .lam reader's output (lam_reader.js, docs/lam-format.md) to the viewer's avatar
// structure (README.md). Mostly renaming; the joints' expression directions are transposed from (J, 3, K)
// to channel-major (K, J, 3); the landmark embedding's triangles become vertex triples.
//
// Not validated again here: the bytes were checked once, at the trust boundary, by readLam (every count,
// length, index and number), and what this function makes from them is pinned by tests (test_lamfile_js.py
// runs checkAvatar on it for every kind of file, test_viewer_js.py deforms it against Python). Avatar structures
// that do not come from a .lam (LamViewer.load(object)) are checked by checkAvatar where they come in.

import { ViewerError } from './errors.js';

export function avatarFromLam(lam) {
  const g = lam?.gaussians, j = lam?.joints, e = lam?.expressions;
  if (!g || !j || !e || !lam.mesh || !lam.skin || !lam.binding || !lam.poseCorrectives) {
    throw new ViewerError('avatar: the .lam reader returned an incomplete avatar');
  }
  const nj = j.parents.length, k = e.count;
  const jointExpr = new Float32Array(k * nj * 3);
  if (j.exprdirs.length !== nj * 3 * k) throw new ViewerError('avatar: joint expression directions have the wrong size');
  for (let jj = 0; jj < nj; jj++) {
    for (let c = 0; c < 3; c++) {
      for (let ch = 0; ch < k; ch++) jointExpr[(ch * nj + jj) * 3 + c] = j.exprdirs[(jj * 3 + c) * k + ch];
    }
  }
  const basis = (b) => ({ count: b.count, ptr: b.ptr, index: b.index, delta: b.delta, scale: b.scale ?? null });
  // landmarks (the lmks chunk: base triangle + barycentric coordinates) as the triangles' vertex indices
  let landmarks = null;
  if (lam.landmarks) {
    const { ids, faces, bary } = lam.landmarks, f = lam.mesh.faces;
    const vertex = new Uint32Array(ids.length * 3);
    for (let i = 0; i < ids.length; i++) {
      if (faces[i] * 3 + 2 >= f.length) throw new ViewerError('avatar: a landmark names a triangle outside the mesh');
      for (let c = 0; c < 3; c++) vertex[i * 3 + c] = f[faces[i] * 3 + c];
    }
    landmarks = { ids: Uint32Array.from(ids), vertex, bary: Float32Array.from(bary) };
  }
  return {
    n: g.count,
    nVertices: lam.mesh.vertices.length / 3,
    exprNames: Array.from(e.names),
    jointNames: Array.from(j.names),
    parents: j.parents,
    jointRest: j.positions,
    jointExpr,
    vertices: lam.mesh.vertices,
    expr: basis(e),
    pose: basis(lam.poseCorrectives),
    skinK: lam.skin.k, skinIndex: lam.skin.index, skinWeight: lam.skin.weight,
    bindK: lam.binding.k, bindIndex: lam.binding.index, bindWeight: lam.binding.weight,
    offsets: g.offsets, colors: g.colors, opacities: g.opacities, scales: g.scales, rotations: g.rotations,
    landmarks,
    source: lam.source ?? '',
    meta: lam.meta ?? {},
  };
}
