// Builds the self-contained static bundle into viewer_web/dist/ (npm run build):
//   lam-viewer.js  the embeddable API (LamViewer, <lam-avatar>), ES module
//   app.js         the page lam-serve shows; index.html, app.css
// The deformation and face-tracking workers are bundled first and inlined as strings (started from Blob
// URLs), so each bundle is one file that works from any origin. Written to dist.tmp/ and renamed: never half a bundle.
import { build } from 'esbuild';
import { cpSync, existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, 'dist');
const tmp = join(here, 'dist.tmp');
rmSync(tmp, { recursive: true, force: true });
mkdirSync(tmp, { recursive: true });

const common = { bundle: true, format: 'esm', target: ['es2020', 'chrome80', 'safari15', 'firefox90'], minify: true, legalComments: 'none', logLevel: 'warning' };
async function classicWorker(entry) {
  const out = await build({ ...common, entryPoints: [join(here, entry)], write: false });
  const source = out.outputFiles[0].text;
  if (/\bexport\b|\bimport\s*[({*"']|import\.meta/.test(source)) throw new Error(`${entry}: the worker bundle must be a classic script`);
  return source;
}
const workerSource = await classicWorker('src/deform_worker.js');
const trackerSource = await classicWorker('src/webcam/tracker_worker.js');
await build({
  ...common,
  entryPoints: { 'lam-viewer': join(here, 'src/index.js'), app: join(here, 'src/app.js') },
  outdir: tmp,
  sourcemap: 'linked',
  define: { __LAM_WORKER_SOURCE__: JSON.stringify(workerSource), __LAM_TRACKER_WORKER_SOURCE__: JSON.stringify(trackerSource) },
});
cpSync(join(here, 'static'), tmp, { recursive: true });
if (existsSync(out)) rmSync(out, { recursive: true, force: true });
renameSync(tmp, out);
console.log(`viewer bundle written to ${out}`);
