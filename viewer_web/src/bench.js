// Frame-time measurement in the page (the test hook's benchmark; benchmarks/bench_viewer.py drives it).
// Each frame: deformation + sort (worker or main thread) -> upload -> draw -> wait for the GPU (a 1-pixel
// readPixels). Pipelined (the default, as the live viewer runs): frame k+1's deformation is requested before
// frame k is drawn, so the worker and the GPU work at the same time.

export async function benchmarkFrames(viewer, paramsList, { pipelined = true } = {}) {
  const gl = viewer.renderer.gl, px = new Uint8Array(4);
  const cam = viewer.camera();
  const client = viewer.client;
  const toParams = (p) => ({ expr: Float32Array.from(p.expr), pose: Float32Array.from(p.pose), translation: Float32Array.from(p.translation) });
  const list = paramsList.map(toParams);
  const sum = { deformMs: 0, sortMs: 0, uploadMs: 0, drawMs: 0 };
  const request = async (i) => {
    let r;
    do r = await client.request(list[i % list.length], cam.worldToCamera); while (r === null);
    return r;
  };
  // warm up (shader compilation, first uploads)
  viewer._upload(await request(0));
  viewer._draw(cam);
  gl.readPixels(0, 0, 1, 1, gl.RGBA, gl.UNSIGNED_BYTE, px);
  const n = list.length;
  const t0 = performance.now();
  let next = request(0);
  for (let i = 0; i < n; i++) {
    const r = await next;
    if (pipelined && i + 1 < n) next = request(i + 1);
    sum.deformMs += r.deformMs; sum.sortMs += r.sortMs;
    let t = performance.now();
    viewer._upload(r);
    sum.uploadMs += performance.now() - t;
    t = performance.now();
    viewer._draw(cam);
    gl.readPixels(0, 0, 1, 1, gl.RGBA, gl.UNSIGNED_BYTE, px);
    sum.drawMs += performance.now() - t;
    if (!pipelined && i + 1 < n) next = request(i + 1);
  }
  const total = performance.now() - t0;
  const mean = (x) => x / n;
  return {
    frames: n, frameMs: mean(total), deformMs: mean(sum.deformMs), sortMs: mean(sum.sortMs),
    uploadMs: mean(sum.uploadMs), drawMs: mean(sum.drawMs), mode: client.mode, width: cam.width, height: cam.height,
  };
}
