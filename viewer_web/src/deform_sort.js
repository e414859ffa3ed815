// DeformSortHandler: the deformation worker's message handler, wherever it runs (in a Worker, or on the main
// thread when workers are unavailable): deform the Gaussians for the frame's parameters and sort them for the
// view.
import { Deformer } from './deform.js';
import { describeError } from './errors.js';
import { DepthSorter } from './sort.js';
import { texelBuffer } from './texels.js';

export class DeformSortHandler {
  handle(msg) {
    try {
      if (msg.type === 'init') {
        this.avatar = msg.avatar;  // validated where it entered the page (readLam or LamViewer.load)
        this.deformer = new Deformer(this.avatar);
        this.sorter = new DepthSorter(this.avatar.n);
        this.means = null;
        return { message: { type: 'ready' }, transfer: [] };
      }
      if (msg.type === 'frame') return this.frame(msg);
      return null;
    } catch (err) {
      return { message: { type: 'error', id: msg.id, message: describeError(err) }, transfer: [] };
    }
  }

  frame({ id, params, view, means, quats, order }) {
    const t0 = performance.now();
    const transfer = [order.buffer];
    const message = { type: 'frame', id, deformed: false, order };
    if (params || !this.means) {
      if (!this.means) {
        this.means = texelBuffer(this.avatar.n);
        this.quats = texelBuffer(this.avatar.n);
      }
      this.deformer.deform(params ?? this.zeroParams(), this.means, this.quats);
      message.deformed = true;
    }
    if (message.deformed && means && quats) {
      // the private copy stays here for later re-sorts; the buffers go to the main thread for upload
      means.set(this.means);
      quats.set(this.quats);
      message.means = means;
      message.quats = quats;
      transfer.push(means.buffer, quats.buffer);
    }
    const t1 = performance.now();
    this.sorter.sort(this.means, 4, view, order);
    message.deformMs = t1 - t0;
    message.sortMs = performance.now() - t1;
    return { message, transfer };
  }

  zeroParams() {
    const a = this.avatar;
    return { expr: new Float32Array(a.exprNames.length), pose: new Float32Array(a.parents.length * 3), translation: new Float32Array(3) };
  }
}
