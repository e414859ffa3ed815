// The deformation worker: owns a Deformer and a DepthSorter for one avatar and answers frame requests.
//   {type: 'init', avatar}                      -> {type: 'ready'} | {type: 'error', message}
//   {type: 'frame', id, params|null, view, means, quats, order}
//        params null: only re-sort the last deformed centres for a new view.
//        means/quats/order: buffers (from texelBuffer / Uint32Array n) handed over to be filled and sent back.
//                                              -> {type: 'frame', id, deformed, means, quats, order, ms}
import { DeformSortHandler } from './deform_sort.js';

const work = new DeformSortHandler();
self.onmessage = (e) => {
  const reply = work.handle(e.data);
  if (reply) self.postMessage(reply.message, reply.transfer);
};
