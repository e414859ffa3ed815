// The webcam solver's time per frame in Node (the page runs the same code): synthetic rigs of the three
// kinds (tests/js/webcam_fixture.mjs) and .lam avatars given on the command line.
//   node benchmarks/webcam_node_bench.mjs [avatar.lam ...]   -> JSON {name: {kind, solve, copy, median_ms, p90_ms}}
import { readFileSync } from 'node:fs';
import { faceRig, observe, params } from '../tests/js/webcam_fixture.mjs';
import { readLam } from '../viewer_web/src/lam_reader.js';
import { avatarFromLam } from '../viewer_web/src/lam_adapter.js';
import { buildLandmarkModel } from '../viewer_web/src/webcam/landmark_model.js';
import { FaceSolver } from '../viewer_web/src/webcam/solver.js';
import { axisAngleToMatrix } from '../viewer_web/src/kinematics.js';

const FRAMES = 300, W = 640, H = 480;

function time(model, frames) {
  const solver = new FaceSolver(model);
  solver.setNeutral(model.rest);
  const ms = [];
  frames.forEach((f, i) => {
    const t0 = performance.now();
    solver.update(f, W, H, i * 33.3);
    ms.push(performance.now() - t0);
  });
  const s = ms.slice(30).sort((a, b) => a - b);
  return { kind: model.kind, solve: model.solve.channels.length, copy: model.copy.channels.length, jaw: !!model.jaw,
    median_ms: s[s.length >> 1], p90_ms: s[Math.floor(s.length * 0.9)] };
}

/** A moving head for a model without a rig to pose: its rest landmarks, turned and jittered. */
function restFrames(model, n) {
  const R = new Float64Array(9), out = [];
  let seed = 7;
  const rnd = () => { seed = (seed * 1103515245 + 12345) >>> 0; return seed / 2 ** 32 - 0.5; };
  for (let f = 0; f < n; f++) {
    axisAngleToMatrix(0.1 * Math.sin(f / 20), 0.35 * Math.sin(f / 13), 0.05 * Math.sin(f / 17), R);
    const lm = new Float32Array(478 * 3);
    for (let i = 0; i < model.n; i++) {
      const id = model.ids[i], p = model.rest.subarray(i * 3, i * 3 + 3);
      const x = R[0] * p[0] + R[1] * p[1] + R[2] * p[2], y = R[3] * p[0] + R[4] * p[1] + R[5] * p[2], z = R[6] * p[0] + R[7] * p[1] + R[8] * p[2];
      lm[id * 3] = (2400 * x + 320 + rnd()) / W; lm[id * 3 + 1] = (-2400 * y + 240 + rnd()) / H; lm[id * 3 + 2] = (-2400 * z + rnd()) / W;
    }
    out.push(lm);
  }
  return out;
}

const out = {};
for (const kind of ['flame', 'arkit', 'landmarks']) {
  const rig = faceRig(kind);
  const frames = [];
  for (let f = 0; f < FRAMES; f++) {
    const p = params(rig, { pose: { global: [0.1 * Math.sin(f / 20), 0.35 * Math.sin(f / 13), 0], jaw: [0.15 + 0.15 * Math.sin(f / 5), 0, 0] } });
    frames.push(observe(rig, p, { noise: 0.5, seed: f }));
  }
  out[`synthetic ${kind}`] = time(buildLandmarkModel(rig), frames);
}
for (const path of process.argv.slice(2)) {
  const avatar = avatarFromLam(await readLam(new Uint8Array(readFileSync(path))));
  const model = buildLandmarkModel(avatar);
  out[path.split('/').pop()] = time(model, restFrames(model, FRAMES));
}
console.log(JSON.stringify(out));
