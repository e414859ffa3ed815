// The page's webcam solver (src/webcam/solver.js) over a whole video's landmarks, for lam-track
// (exporter/video_track.py): one Node process per video, the very code the page runs.
//
//   node viewer_web/node/solve_video.mjs < input > output
//
// input: one JSON line {lam, width, height, fps, frames, neutral: [first, last]} (the neutral window as frame
//   indices, inclusive), then `frames` records of 1 + 478*3 little-endian float32: a flag (1: a face, 0: none)
//   and MediaPipe's normalised landmarks (x, y relative to the image, z relative to its width).
// output: one JSON line {kind, exprNames, jointNames, unused, solved, held, solveMs: {total, median, max}},
//   then `frames` records of K + J*3 float32 (expression channels, joint axis-angles): the solved parameters,
//   or the last ones held where no face was found (zeros before the first face).
// Calibration: the neutral window's face frames (their median), then every frame is solved in order with the
// frame times (index / fps) the One Euro smoothing sees, as the page solves a camera.
// Errors: one line on stderr, exit 2.
import { readFileSync, writeSync } from 'node:fs';
import { readLam } from '../src/lam_reader.js';
import { avatarFromLam } from '../src/lam_adapter.js';
import { buildLandmarkModel, N_MEDIAPIPE } from '../src/webcam/landmark_model.js';
import { FaceSolver } from '../src/webcam/solver.js';

const REC = 1 + N_MEDIAPIPE * 3;
const MAX_FRAMES = 1_000_000;

function fail(msg) {
  process.stderr.write(`${msg}\n`);
  process.exit(2);
}

function main() {
  const input = readFileSync(0);
  const nl = input.indexOf(10);
  if (nl < 0) fail('solve_video: no header line');
  let spec;
  try { spec = JSON.parse(input.subarray(0, nl).toString('utf8')); } catch (err) { fail(`solve_video: bad header: ${err.message}`); }
  const { lam, width, height, fps, frames, neutral } = spec;
  if (!(Number.isInteger(frames) && frames > 0 && frames <= MAX_FRAMES)) fail(`solve_video: bad frame count ${frames}`);
  if (!(width > 0 && height > 0 && fps > 0)) fail('solve_video: bad width, height or fps');
  if (!Array.isArray(neutral) || neutral.length !== 2 || !(neutral[0] >= 0 && neutral[1] >= neutral[0] && neutral[1] < frames)) {
    fail(`solve_video: bad neutral window ${JSON.stringify(neutral)}`);
  }
  const body = input.subarray(nl + 1);
  if (body.length !== frames * REC * 4) fail(`solve_video: expected ${frames * REC * 4} bytes of landmarks, got ${body.length}`);
  const data = new Float32Array(frames * REC);
  new Uint8Array(data.buffer).set(body);   // copy: the Buffer's offset need not be 4-aligned
  return { spec, data };
}

async function solve({ spec, data }) {
  let avatar;
  try {
    avatar = avatarFromLam(await readLam(new Uint8Array(readFileSync(spec.lam))));
  } catch (err) { fail(`${spec.lam}: ${err.message}`); }
  let model;
  try { model = buildLandmarkModel(avatar); } catch (err) { fail(err.message); }
  const { frames, width, height, fps, neutral } = spec;
  const face = (i) => data[i * REC] === 1;
  const lm = (i) => data.subarray(i * REC + 1, (i + 1) * REC);
  const time = (i) => (i * 1000) / fps;
  const calFrames = [];
  for (let i = neutral[0]; i <= neutral[1]; i++) if (face(i)) calFrames.push(i);
  if (!calFrames.length) fail('solve_video: no face in the neutral window');
  const solver = new FaceSolver(model, { calibrationMs: 0, calibrationMinFrames: calFrames.length });
  solver.beginCalibration();
  for (const i of calFrames) solver.update(lm(i), width, height, time(i));
  if (!solver.calibrated) fail('solve_video: the neutral window\'s landmarks are degenerate');

  const K = model.nExpr, J = model.nJoints, per = K + J * 3;
  const out = new Float32Array(frames * per);
  const last = new Float32Array(per);
  const ms = [];
  let solved = 0, held = 0, lost = false;
  for (let i = 0; i < frames; i++) {
    const r = face(i) ? solver.update(lm(i), width, height, time(i), { calibrationFrame: false }) : null;
    if (r) {
      last.set(r.params.expr, 0);
      last.set(r.params.pose, K);
      ms.push(r.solveMs);
      solved++;
      lost = false;
    } else {
      if (!lost) solver.lost();
      lost = true;
      held++;
    }
    out.set(last, i * per);
  }
  ms.sort((a, b) => a - b);
  const header = {
    kind: model.kind, exprNames: model.exprNames, jointNames: model.jointNames, unused: model.unused, solved, held,
    solveMs: { total: ms.reduce((a, b) => a + b, 0), median: ms.length ? ms[ms.length >> 1] : 0, max: ms.length ? ms[ms.length - 1] : 0 },
  };
  writeAll(Buffer.from(`${JSON.stringify(header)}\n`, 'utf8'));
  writeAll(Buffer.from(out.buffer, out.byteOffset, out.byteLength));
}

function writeAll(buf) {
  let off = 0;
  while (off < buf.length) {
    try { off += writeSync(1, buf, off, buf.length - off); } catch (err) { if (err.code !== 'EAGAIN') throw err; }
  }
}

await solve(main());
