/**
 * A small PNG decoder for the Chromium test: 8-bit RGB or RGBA,
 * non-interlaced (what Chromium's `--screenshot` writes), inflated with
 * `node:zlib`, filters 0-4 undone row by row.
 *
 * @module
 */

import { inflateSync } from "node:zlib";

/** A decoded image: `bpp` bytes per pixel, rows top to bottom. */
export interface Image {
  /** Pixels per row. */
  width: number;
  /** Rows. */
  height: number;
  /** Bytes per pixel: 3 (RGB) or 4 (RGBA). */
  bpp: number;
  /** The pixels. */
  px: Uint8Array;
}

/**
 * Decodes a PNG.
 *
 * @param bytes the file
 * @returns the pixels
 * @throws {TypeError} for a format this decoder does not read
 */
export function decodePng(bytes: Uint8Array): Image {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const signature = [137, 80, 78, 71, 13, 10, 26, 10];
  if (!signature.every((b, i) => view.getUint8(i) === b)) {
    throw new TypeError("Cannot decode: not a PNG");
  }
  let offset = 8;
  let width = 0;
  let height = 0;
  let depth = 0;
  let colourType = 0;
  let interlace = 0;
  const chunks: Uint8Array[] = [];
  while (offset + 8 <= bytes.byteLength) {
    const length = view.getUint32(offset);
    const type = new TextDecoder().decode(
      bytes.subarray(offset + 4, offset + 8),
    );
    const data = bytes.subarray(offset + 8, offset + 8 + length);
    if (type === "IHDR") {
      width = view.getUint32(offset + 8);
      height = view.getUint32(offset + 12);
      depth = view.getUint8(offset + 16);
      colourType = view.getUint8(offset + 17);
      interlace = view.getUint8(offset + 20);
    } else if (type === "IDAT") {
      chunks.push(data);
    } else if (type === "IEND") {
      break;
    }
    offset += 12 + length;
  }
  if (
    depth !== 8 || interlace !== 0 || (colourType !== 2 && colourType !== 6)
  ) {
    throw new TypeError(
      `Cannot decode: depth ${depth}, colour type ${colourType}, interlace ${interlace}`,
    );
  }
  const joined = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0));
  let at = 0;
  for (const chunk of chunks) {
    joined.set(chunk, at);
    at += chunk.byteLength;
  }
  const raw = new Uint8Array(inflateSync(joined));
  const bpp = colourType === 6 ? 4 : 3;
  const stride = width * bpp;
  const px = new Uint8Array(height * stride);
  const rawView = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const pxView = new DataView(px.buffer);
  const get = (i: number) => i < 0 ? 0 : pxView.getUint8(i);
  for (let y = 0; y < height; y++) {
    const filter = rawView.getUint8(y * (stride + 1));
    const row = y * stride;
    for (let i = 0; i < stride; i++) {
      const a = i >= bpp ? get(row + i - bpp) : 0;
      const b = y > 0 ? get(row - stride + i) : 0;
      const c = i >= bpp && y > 0 ? get(row - stride + i - bpp) : 0;
      let p = 0;
      if (filter === 1) p = a;
      else if (filter === 2) p = b;
      else if (filter === 3) p = (a + b) >> 1;
      else if (filter === 4) {
        const q = a + b - c;
        const pa = Math.abs(q - a);
        const pb = Math.abs(q - b);
        const pc = Math.abs(q - c);
        p = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      }
      const value = rawView.getUint8(y * (stride + 1) + 1 + i);
      pxView.setUint8(row + i, (value + p) & 255);
    }
  }
  return { width, height, bpp, px };
}

/** Options of {@linkcode colourTest}. */
export interface ColourTestOptions {
  /** The colour, `#rrggbb`. */
  hex: string;
  /** The largest sum of the channels' differences (default 40). */
  tolerance?: number;
}

/**
 * A test of whether a pixel is (near) a colour.
 *
 * @param image the image
 * @param options the colour and the tolerance
 * @returns `(x, y) => boolean`
 */
export function colourTest(
  image: Image,
  options: ColourTestOptions,
): (x: number, y: number) => boolean {
  const view = new DataView(image.px.buffer);
  const want = [0, 1, 2].map((k) =>
    parseInt(options.hex.slice(1 + 2 * k, 3 + 2 * k), 16)
  );
  const tolerance = options.tolerance ?? 40;
  return (x, y) => {
    const i = (y * image.width + x) * image.bpp;
    let diff = 0;
    for (let k = 0; k < 3; k++) {
      diff += Math.abs(view.getUint8(i + k) - (want[k] ?? 0));
    }
    return diff <= tolerance;
  };
}
