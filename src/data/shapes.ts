/**
 * Synthetic scenes with known truth, for models that are not classifiers: a disc and/or a square
 * of random size, place and colour on a smooth colour field with a little pixel noise. Each scene
 * carries its per-pixel labels (0 background, 1 disc, 2 square), each shape's box and the disc's
 * radius, so a segmenter, a detector and a regressor can be trained on it and their explanations
 * checked against where the shapes really are. Seeded: the same seed gives the same bytes.
 */
import { makeRandom } from '../util/random';

/** x1, y1, x2, y2 in pixels: the shape's pixels are x1 <= x < x2, y1 <= y < y2 (tight). */
export type PixelBox = [number, number, number, number];

export const SHAPE_CLASS_NAMES: readonly string[] = ['background', 'disc', 'square'];
export const DISC = 1;
export const SQUARE = 2;

export interface Disc {
  /** Centre in pixel coordinates (pixel (x, y) spans x..x+1, so its centre is x + 0.5). */
  cx: number;
  cy: number;
  radius: number;
  box: PixelBox;
}

export interface Square {
  /** Top-left pixel and side, in whole pixels. */
  x: number;
  y: number;
  side: number;
  box: PixelBox;
}

export interface ShapeScene {
  /** RGB, height x width x 3, row-major (HWC), 0-255. */
  pixels: Uint8Array;
  /** One label per pixel, row-major: 0 background, 1 disc, 2 square. */
  labels: Uint8Array;
  disc: Disc | null;
  square: Square | null;
}

export interface ShapesDataset {
  size: number;
  classNames: readonly string[];
  scenes: ShapeScene[];
  /** The scenes' pixels, as explain() and showGradCam() take them. */
  images: Uint8Array[];
}

export interface ShapesOptions {
  /** Side of the square images in pixels (default 32, at least 16). */
  size?: number;
  /** Seed of the generator (default 1). */
  seed?: number;
  /** Pixel noise: each channel moves by up to +-noise levels (default 6). */
  noise?: number;
  /** Which shapes a scene holds: 'mixed' (half both, a quarter each alone; default), 'both', 'disc' or 'square'. */
  shapes?: 'mixed' | 'both' | 'disc' | 'square';
}

type Rgb = [number, number, number];

/** n scenes; see ShapesOptions for the defaults. */
export function shapesDataset(n: number, options: ShapesOptions = {}): ShapesDataset {
  const size = options.size ?? 32;
  const noise = options.noise ?? 6;
  const mix = options.shapes ?? 'mixed';
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`shapesDataset: n is ${n}; pass a whole number of scenes (0 or more).`);
  if (!Number.isInteger(size) || size < 16) throw new RangeError(`shapesDataset: size is ${size}; pass a whole number of pixels, 16 or more.`);
  if (!(noise >= 0 && noise <= 64)) throw new RangeError(`shapesDataset: noise is ${noise}; pass 0 to 64 levels.`);
  if (!['mixed', 'both', 'disc', 'square'].includes(mix)) throw new RangeError(`shapesDataset: shapes is '${mix}'; pass 'mixed', 'both', 'disc' or 'square'.`);
  const random = makeRandom(options.seed ?? 1);
  const scenes = Array.from({ length: n }, () => scene(size, noise, mix, random));
  return { size, classNames: SHAPE_CLASS_NAMES, scenes, images: scenes.map((s) => s.pixels) };
}

function scene(size: number, noise: number, mix: NonNullable<ShapesOptions['shapes']>, random: () => number): ShapeScene {
  const u = random();
  const wantDisc = mix === 'both' || mix === 'disc' || (mix === 'mixed' && u < 0.75);
  const wantSquare = mix === 'both' || mix === 'square' || (mix === 'mixed' && u >= 0.25);
  const background = colourField(size, random);
  const labels = new Uint8Array(size * size);
  let disc: Disc | null = null;
  let square: Square | null = null;
  if (wantDisc) disc = placeDisc(size, random);
  if (wantSquare) {
    // A few tries to keep it clear of the disc (a pixel apart); a scene that wanted both keeps the disc alone otherwise.
    for (let tries = 0; tries < 20 && !square; tries++) {
      const s = placeSquare(size, random);
      if (!disc || apart(disc.box, s.box)) square = s;
    }
  }
  const pixels = new Uint8Array(size * size * 3);
  const discColour = disc ? contrasting(background, disc.box, size, random) : null;
  const squareColour = square ? contrasting(background, square.box, size, random) : null;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const p = y * size + x;
      let colour: Rgb = [background[3 * p], background[3 * p + 1], background[3 * p + 2]];
      if (disc && discColour && (x + 0.5 - disc.cx) ** 2 + (y + 0.5 - disc.cy) ** 2 <= disc.radius ** 2) {
        labels[p] = DISC;
        colour = discColour;
      } else if (square && squareColour && x >= square.x && x < square.x + square.side && y >= square.y && y < square.y + square.side) {
        labels[p] = SQUARE;
        colour = squareColour;
      }
      for (let ch = 0; ch < 3; ch++) pixels[3 * p + ch] = clampByte(colour[ch] + Math.round((2 * random() - 1) * noise));
    }
  }
  if (disc) disc.box = tightBox(labels, size, DISC);
  return { pixels, labels, disc, square };
}

/** A linear blend of two random colours along a random direction: smooth, no edges. */
function colourField(size: number, random: () => number): Float32Array {
  const a: Rgb = [255 * random(), 255 * random(), 255 * random()];
  const b: Rgb = [255 * random(), 255 * random(), 255 * random()];
  const angle = 2 * Math.PI * random();
  const [dx, dy] = [Math.cos(angle), Math.sin(angle)];
  const field = new Float32Array(size * size * 3);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const t = Math.min(1, Math.max(0, 0.5 + ((x + 0.5 - size / 2) * dx + (y + 0.5 - size / 2) * dy) / size));
      for (let ch = 0; ch < 3; ch++) field[3 * (y * size + x) + ch] = a[ch] * (1 - t) + b[ch] * t;
    }
  }
  return field;
}

function placeDisc(size: number, random: () => number): Disc {
  const radius = size * (0.1 + 0.15 * random());
  const cx = radius + 1 + (size - 2 * radius - 2) * random();
  const cy = radius + 1 + (size - 2 * radius - 2) * random();
  // The box is replaced by the tight box of the pixels drawn; this one only keeps the square clear.
  return { cx, cy, radius, box: [Math.floor(cx - radius), Math.floor(cy - radius), Math.ceil(cx + radius), Math.ceil(cy + radius)] };
}

function placeSquare(size: number, random: () => number): Square {
  const side = Math.round(size * (0.2 + 0.22 * random()));
  const x = 1 + Math.floor((size - side - 1) * random());
  const y = 1 + Math.floor((size - side - 1) * random());
  return { x, y, side, box: [x, y, x + side, y + side] };
}

function apart(a: PixelBox, b: PixelBox): boolean {
  return a[2] < b[0] || b[2] < a[0] || a[3] < b[1] || b[3] < a[1];
}

/** A random colour at least 120 levels (Euclidean) from the background in the middle of the box. */
function contrasting(field: Float32Array, box: PixelBox, size: number, random: () => number): Rgb {
  const cx = Math.min(size - 1, Math.max(0, Math.floor((box[0] + box[2]) / 2)));
  const cy = Math.min(size - 1, Math.max(0, Math.floor((box[1] + box[3]) / 2)));
  const bg: Rgb = [field[3 * (cy * size + cx)], field[3 * (cy * size + cx) + 1], field[3 * (cy * size + cx) + 2]];
  let colour: Rgb = [0, 0, 0];
  for (let tries = 0; tries < 10; tries++) {
    colour = [255 * random(), 255 * random(), 255 * random()];
    if (Math.hypot(colour[0] - bg[0], colour[1] - bg[1], colour[2] - bg[2]) >= 120) return colour;
  }
  // The background's opposite is always far enough from it (at least 127.5 in one channel's worth).
  return bg.map((v) => (v < 128 ? 255 : 0)) as Rgb;
}

function tightBox(labels: Uint8Array, size: number, label: number): PixelBox {
  let [x1, y1, x2, y2] = [size, size, 0, 0];
  labels.forEach((l, p) => {
    if (l !== label) return;
    const x = p % size;
    const y = (p - x) / size;
    [x1, y1, x2, y2] = [Math.min(x1, x), Math.min(y1, y), Math.max(x2, x + 1), Math.max(y2, y + 1)];
  });
  return [x1, y1, x2, y2];
}

function clampByte(v: number): number {
  return Math.min(255, Math.max(0, Math.round(v)));
}
