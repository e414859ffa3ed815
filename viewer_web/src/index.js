// Public API of the viewer bundle (dist/lam-viewer.js):
//   import { LamViewer, load } from './lam-viewer.js';      // or use <lam-avatar src="...">
export { LamViewer } from './viewer.js';
export { LamAvatarElement, defineElement } from './element.js';
export { Camera, avatarCamera } from './camera.js';
export { ViewerError } from './errors.js';
export { parseMotionObject, parseMotionText, bindMotion } from './motion.js';
export { loadAvatar, loadMotion } from './loader.js';
export { WebcamDriver } from './webcam/driver.js';

import { defineElement } from './element.js';
import { LamViewer } from './viewer.js';

defineElement();

/** Make a viewer in `container` and load `src` into it: `const v = await load(el, 'a.lam')`. */
export async function load(container, src, options) {
  const v = new LamViewer(container, options);
  await v.load(src);
  return v;
}
