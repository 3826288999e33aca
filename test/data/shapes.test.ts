/**
 * The synthetic shapes: every fact a notebook or a test relies on, checked against geometry
 * worked out independently (the disc's area pi r^2, each pixel's centre against the circle's
 * equation and the square's sides), never against the generator's own bookkeeping.
 */
import { expect } from 'chai';
import { shapesDataset, DISC, SQUARE } from '../../src/data/shapes';
import type { PixelBox } from '../../src/data/shapes';

const pixelsOf = (labels: Uint8Array, label: number, size: number): [number, number][] =>
  Array.from(labels).flatMap((l, p) => (l === label ? [[p % size, Math.floor(p / size)] as [number, number]] : []));

describe('shapesDataset: synthetic discs and squares with known truth', () => {
  const data = shapesDataset(200, { seed: 7 });

  it('gives the same bytes for the same seed and other bytes for another seed', () => {
    const again = shapesDataset(200, { seed: 7 });
    data.scenes.forEach((s, i) => {
      expect(Buffer.from(again.scenes[i].pixels).equals(Buffer.from(s.pixels)), `scene ${i} pixels`).to.equal(true);
      expect(Buffer.from(again.scenes[i].labels).equals(Buffer.from(s.labels)), `scene ${i} labels`).to.equal(true);
    });
    const other = shapesDataset(200, { seed: 8 });
    expect(other.scenes.filter((s, i) => Buffer.from(s.pixels).equals(Buffer.from(data.scenes[i].pixels))).length).to.equal(0);
  });

  it('shapes images as 32x32 RGB (HWC) bytes with one label per pixel, and names its classes', () => {
    expect(data.size).to.equal(32);
    expect(data.classNames).to.deep.equal(['background', 'disc', 'square']);
    expect(data.images).to.have.length(200);
    for (const s of data.scenes) {
      expect(s.pixels).to.be.instanceOf(Uint8Array).with.length(32 * 32 * 3);
      expect(s.labels).to.be.instanceOf(Uint8Array).with.length(32 * 32);
      expect(Array.from(new Set(s.labels)).every((l) => l <= 2)).to.equal(true);
    }
    const small = shapesDataset(3, { size: 20, seed: 1 });
    expect(small.images[0]).to.have.length(20 * 20 * 3);
  });

  it("labels as disc exactly the pixels whose centre lies within the radius, about pi r^2 of them", () => {
    let discs = 0;
    for (const s of data.scenes) {
      if (!s.disc) continue;
      discs++;
      const { cx, cy, radius } = s.disc;
      const wrong: string[] = [];
      for (let p = 0; p < 32 * 32; p++) {
        const [x, y] = [p % 32, Math.floor(p / 32)];
        const inside = (x + 0.5 - cx) ** 2 + (y + 0.5 - cy) ** 2 <= radius ** 2;
        if (inside !== (s.labels[p] === DISC)) wrong.push(`${x},${y}`);
      }
      expect(wrong, 'pixels labelled against the circle').to.deep.equal([]);
      const count = pixelsOf(s.labels, DISC, 32).length;
      // Counting pixel centres misses or adds at most a rim of pixels: well within 2 r + 4 of pi r^2.
      expect(Math.abs(count - Math.PI * radius * radius), `disc of radius ${radius.toFixed(2)}: ${count} px`).to.be.below(2 * radius + 4);
      expect(radius).to.be.within(3.2, 8);
    }
    expect(discs).to.be.above(100);
  });

  it('labels as square a side x side block at its corner, side from 6 to 14 pixels', () => {
    let squares = 0;
    for (const s of data.scenes) {
      if (!s.square) continue;
      squares++;
      const { x, y, side } = s.square;
      expect(side).to.be.within(6, 14);
      const px = pixelsOf(s.labels, SQUARE, 32);
      expect(px).to.have.length(side * side);
      for (const [u, v] of px) expect(u >= x && u < x + side && v >= y && v < y + side, `pixel ${u},${v}`).to.equal(true);
    }
    expect(squares).to.be.above(100);
  });

  it("gives each shape the tight box of its pixels, inside the image, and keeps the two shapes' boxes apart", () => {
    const tight = (px: [number, number][]): PixelBox => [
      Math.min(...px.map((p) => p[0])), Math.min(...px.map((p) => p[1])), Math.max(...px.map((p) => p[0])) + 1, Math.max(...px.map((p) => p[1])) + 1,
    ];
    for (const s of data.scenes) {
      for (const [shape, label] of [[s.disc, DISC], [s.square, SQUARE]] as const) {
        if (!shape) continue;
        const b = shape.box;
        expect(b, 'a box is tight around its pixels').to.deep.equal(tight(pixelsOf(s.labels, label, 32)));
        expect(b[0] >= 0 && b[1] >= 0 && b[2] <= 32 && b[3] <= 32).to.equal(true);
      }
      if (s.disc && s.square) {
        const [a, b] = [s.disc.box, s.square.box];
        const overlap = Math.min(a[2], b[2]) > Math.max(a[0], b[0]) && Math.min(a[3], b[3]) > Math.max(a[1], b[1]);
        expect(overlap, 'disc and square boxes overlap').to.equal(false);
      }
      expect(s.disc !== null || s.square !== null, 'every scene holds a shape').to.equal(true);
    }
  });

  it('mixes the scenes: about half hold both shapes, a quarter each one alone; shapes: "disc" always has a disc', () => {
    const both = data.scenes.filter((s) => s.disc && s.square).length;
    const discOnly = data.scenes.filter((s) => s.disc && !s.square).length;
    const squareOnly = data.scenes.filter((s) => !s.disc && s.square).length;
    expect(both).to.be.within(70, 130);
    expect(discOnly).to.be.within(30, 75);
    expect(squareOnly).to.be.within(30, 75);
    expect(shapesDataset(30, { shapes: 'disc' }).scenes.every((s) => s.disc && !s.square)).to.equal(true);
    expect(shapesDataset(30, { shapes: 'square' }).scenes.every((s) => !s.disc && s.square)).to.equal(true);
  });

  it('draws shapes that stand out from the background, on a smooth field with a little noise', () => {
    for (const s of data.scenes.slice(0, 50)) {
      const mean = (label: number): number[] => {
        const px = pixelsOf(s.labels, label, 32);
        return [0, 1, 2].map((ch) => px.reduce((a, [x, y]) => a + s.pixels[3 * (y * 32 + x) + ch], 0) / px.length);
      };
      const bg = mean(0);
      for (const label of [DISC, SQUARE]) {
        if (!s.labels.includes(label)) continue;
        const m = mean(label);
        // At least 120 levels from the background under the shape; the field varies, so allow 60 from its mean.
        expect(Math.hypot(m[0] - bg[0], m[1] - bg[1], m[2] - bg[2]), `label ${label} against the background`).to.be.above(60);
      }
      // Neighbouring background pixels differ by the noise and the gentle gradient only, yet not all are equal.
      let steps = 0;
      let flat = 0;
      let largest = 0;
      for (let y = 0; y < 32; y++) {
        for (let x = 0; x < 31; x++) {
          const [p, q] = [y * 32 + x, y * 32 + x + 1];
          if (s.labels[p] || s.labels[q]) continue;
          const d = Math.abs(s.pixels[3 * p] - s.pixels[3 * q]);
          steps++;
          if (d === 0) flat++;
          largest = Math.max(largest, d);
        }
      }
      expect(largest, 'largest step between neighbouring background pixels').to.be.at.most(2 * 6 + 9);
      expect(flat / steps, 'share of equal neighbours').to.be.below(0.5);
    }
    const quiet = shapesDataset(5, { noise: 0, seed: 3 });
    expect(quiet.scenes[0].pixels).to.not.deep.equal(shapesDataset(5, { noise: 6, seed: 3 }).scenes[0].pixels);
  });

  it('refuses a bad count, size, noise or mix, naming the value and what to pass', () => {
    expect(() => shapesDataset(-1)).to.throw(/n is -1; pass a whole number of scenes/);
    expect(() => shapesDataset(2, { size: 8 })).to.throw(/size is 8; pass a whole number of pixels, 16 or more/);
    expect(() => shapesDataset(2, { noise: -3 })).to.throw(/noise is -3; pass 0 to 64 levels/);
    expect(() => shapesDataset(2, { shapes: 'circle' as never })).to.throw(/shapes is 'circle'; pass 'mixed', 'both', 'disc' or 'square'/);
  });
});
