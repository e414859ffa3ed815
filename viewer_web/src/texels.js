// Layout of per-Gaussian data in RGBA32F textures: 2048 texels per row (WebGL2's guaranteed minimum
// texture size), Gaussian i at (i % 2048, i / 2048), 4 floats per texel.
export const TEX_WIDTH_LOG2 = 11;
export const TEX_WIDTH = 1 << TEX_WIDTH_LOG2;

/** Rows of a 2048-wide texture holding n texels. */
export const textureRows = (n) => Math.max(1, Math.ceil(n / TEX_WIDTH));

/** A Float32Array of 4 floats per texel, padded to whole texture rows. */
export const texelBuffer = (n) => new Float32Array(textureRows(n) * TEX_WIDTH * 4);
