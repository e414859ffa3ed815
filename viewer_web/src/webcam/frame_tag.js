// Frame tags for the browser test's fake camera (never used otherwise): each frame of the test clip carries
// its index in a strip of 12 cells at its bottom-left corner (exporter/webcam_clip.py writes them), so the
// page can say which frame of the clip the tracker saw. Cell c covers x in [16c, 16c + 16), y in [H - 8, H):
// cell 0 white, cells 1..10 the index's bits (least significant first, white = 1), cell 11 black.

export const TAG_CELLS = 12;
export const TAG_CELL_W = 16;
export const TAG_CELL_H = 8;
export const TAG_BITS = 10;

/** The frame index from RGBA pixels of the strip (width >= 192, height TAG_CELL_H, rows top to bottom),
 * or null when the strip is not a tag. */
export function decodeTag(rgba, width) {
  const lum = (c) => {
    let s = 0;
    for (let y = 2; y < 6; y++) {
      for (let x = c * TAG_CELL_W + 5; x < c * TAG_CELL_W + 11; x++) {
        const o = (y * width + x) * 4;
        s += 0.299 * rgba[o] + 0.587 * rgba[o + 1] + 0.114 * rgba[o + 2];
      }
    }
    return s / 24;
  };
  if (lum(0) < 200 || lum(TAG_CELLS - 1) > 55) return null;
  let index = 0;
  for (let b = 0; b < TAG_BITS; b++) {
    const v = lum(1 + b);
    if (v > 55 && v < 200) return null;   // neither black nor white
    if (v >= 200) index |= 1 << b;
  }
  return index;
}

let canvas = null;
/** Read the tag of an ImageBitmap / video / canvas frame (height h) with a small 2D canvas. */
export function readTag(image, h) {
  const w = TAG_CELLS * TAG_CELL_W;
  if (!canvas) {
    canvas = typeof OffscreenCanvas !== 'undefined' ? new OffscreenCanvas(w, TAG_CELL_H) : Object.assign(document.createElement('canvas'), { width: w, height: TAG_CELL_H });
  }
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  ctx.drawImage(image, 0, h - TAG_CELL_H, w, TAG_CELL_H, 0, 0, w, TAG_CELL_H);
  return decodeTag(ctx.getImageData(0, 0, w, TAG_CELL_H).data, w);
}
