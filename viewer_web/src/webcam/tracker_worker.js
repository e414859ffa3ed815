// MediaPipe Face Mesh (npm @mediapipe/face_mesh, legacy "solutions" API) in a Worker, so that the face
// tracking does not run on the page's main thread. A classic worker (bundled, inlined, started from a Blob
// URL); it loads face_mesh.js and its wasm/models from the URL it is given (lam-serve serves them from the
// installed npm package: no CDN, no network).
//
// The package supports workers (importScripts, OffscreenCanvas) with three gaps, bridged here:
//  * its file loaders read `locateFile` from two globals in a worker (the packed-assets loader's
//    `createMediapipeSolutionsPackedAssets` becomes the wasm's `Module`);
//  * its minified build asks OffscreenCanvas for a WebGL 1 context (the WebGL 2 request's attribute was
//    renamed by the minifier), on which the GPU graph fails: 'webgl' is answered with WebGL 2 here;
//  * in a worker it keeps no handle on that context, which send() needs: it is created and attached after
//    initialize() (fields of @mediapipe/face_mesh 0.4.1633559619; another build fails loudly and the page
//    falls back to the main thread).
//
// Messages: in {type: 'init', base, options} -> out {type: 'ready'} | {type: 'error', message};
//           in {type: 'frame', id, image: ImageBitmap} -> out {type: 'result', id, landmarks: Float32Array
//           (478*3: x, y relative to the image, z relative to its width) | null, ms}.

/* eslint-env worker */
let mesh = null;
let latest = null;

function patchWebGL() {
  const C = self.OffscreenCanvas;
  if (!C || C.prototype.__lamWebGL2) return;
  const get = C.prototype.getContext;
  C.prototype.getContext = function getContext(type, attrs) {
    if (type === 'webgl' || type === 'experimental-webgl') return get.call(this, 'webgl2', attrs) || get.call(this, type, attrs);
    return get.call(this, type, attrs);
  };
  C.prototype.__lamWebGL2 = true;
}

async function init(base, options) {
  if (typeof OffscreenCanvas === 'undefined') throw new Error('this browser has no OffscreenCanvas in workers');
  const locateFile = (file) => base + file;
  self.createMediapipeSolutionsPackedAssets = { locateFile };
  self.Module = self.createMediapipeSolutionsPackedAssets;
  patchWebGL();
  importScripts(`${base}face_mesh.js`);
  if (typeof self.FaceMesh !== 'function') throw new Error('face_mesh.js did not define FaceMesh');
  mesh = new self.FaceMesh({ locateFile });
  mesh.setOptions(options);
  mesh.onResults((r) => { latest = r; });
  await mesh.initialize();
  const inner = mesh.g;
  if (!inner || !(inner.l instanceof OffscreenCanvas) || !inner.h || typeof inner.h.createContext !== 'function') {
    throw new Error('this @mediapipe/face_mesh build cannot run in a worker');
  }
  if (!inner.D) {
    inner.D = inner.l.getContext('webgl2');
    inner.h.createContext(inner.l, true, true, { majorVersion: 2 });
  }
}

async function frame(image) {
  const t0 = performance.now();
  latest = null;
  try {
    await mesh.send({ image });
  } finally {
    if (image && typeof image.close === 'function') image.close();
  }
  const faces = latest && latest.multiFaceLandmarks;
  const face = faces && faces[0];
  let landmarks = null;
  if (face && face.length >= 478) {
    landmarks = new Float32Array(478 * 3);
    for (let i = 0; i < 478; i++) {
      landmarks[i * 3] = face[i].x; landmarks[i * 3 + 1] = face[i].y; landmarks[i * 3 + 2] = face[i].z;
    }
  }
  return { landmarks, ms: performance.now() - t0 };
}

self.onmessage = async (e) => {
  const msg = e.data || {};
  try {
    if (msg.type === 'init') {
      await init(msg.base, msg.options);
      self.postMessage({ type: 'ready' });
    } else if (msg.type === 'frame') {
      const r = await frame(msg.image);
      self.postMessage({ type: 'result', id: msg.id, landmarks: r.landmarks, ms: r.ms }, r.landmarks ? [r.landmarks.buffer] : []);
    }
  } catch (err) {
    self.postMessage({ type: 'error', id: msg.id, message: String((err && err.message) || err) });
  }
};
