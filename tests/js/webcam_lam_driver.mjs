// Test driver: solve MediaPipe-style landmark frames for a .lam avatar with the page's webcam solver.
//   node tests/js/webcam_lam_driver.mjs avatar.lam frames.json out.json
// frames.json: {width, height, calibration: n, frames: [[478*3 values], ...]} (the first n frames calibrate)
// out.json: {kind, solved: [{expr: [...K], pose: [...J*3]}], unused, solveMs: [...]}
import { readFileSync, writeFileSync } from 'node:fs';
import { readLam } from '../../viewer_web/src/lam_reader.js';
import { avatarFromLam } from '../../viewer_web/src/lam_adapter.js';
import { buildLandmarkModel } from '../../viewer_web/src/webcam/landmark_model.js';
import { FaceSolver } from '../../viewer_web/src/webcam/solver.js';

const [lamPath, framesPath, outPath] = process.argv.slice(2);
const avatar = avatarFromLam(await readLam(new Uint8Array(readFileSync(lamPath))));
const spec = JSON.parse(readFileSync(framesPath, 'utf8'));
const model = buildLandmarkModel(avatar, JSON.parse(process.env.LAM_WEBCAM_MODEL_OPTIONS || '{}'));
const solver = new FaceSolver(model, { smoothing: false, calibrationMs: 0, calibrationMinFrames: spec.calibration });
solver.beginCalibration();
const solved = [], solveMs = [];
spec.frames.forEach((f, i) => {
  const r = solver.update(Float32Array.from(f), spec.width, spec.height, i * 33.3);
  if (i >= spec.calibration) {
    if (!r || !r.calibrated) throw new Error(`frame ${i}: not solved`);
    solved.push({ expr: Array.from(r.params.expr), pose: Array.from(r.params.pose) });
    solveMs.push(r.solveMs);
  }
});
writeFileSync(outPath, JSON.stringify({ kind: model.kind, solved, unused: model.unused, solveMs }));
