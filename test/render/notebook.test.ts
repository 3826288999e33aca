import { expect } from 'chai';
import {
  BAR_COLORS, barChartPng, channelGridPng, colormapTable, CURVE_COLORS, decodeImage, formatTick, imageGridPng, niceTicks, RgbImage,
  trainingCurvesPng,
} from '../../src/render';

type Rgb = [number, number, number];
const hex = (h: string): Rgb => [parseInt(h.slice(1, 3), 16), parseInt(h.slice(3, 5), 16), parseInt(h.slice(5, 7), 16)];
const at = (img: RgbImage, x: number, y: number): Rgb => {
  const i = 3 * (y * img.width + x);
  return [img.data[i], img.data[i + 1], img.data[i + 2]];
};
const near = (a: Rgb, b: Rgb, tolerance = 0): boolean => a.every((v, c) => Math.abs(v - b[c]) <= tolerance);
/** Every pixel of a colour (within tolerance) in the region x in [x0, x1), as [x, y]. */
function find(img: RgbImage, color: Rgb, x0 = 0, x1 = img.width, tolerance = 0): [number, number][] {
  const hits: [number, number][] = [];
  for (let y = 0; y < img.height; y++) for (let x = x0; x < x1; x++) if (near(at(img, x, y), color, tolerance)) hits.push([x, y]);
  return hits;
}
/** Top-left pixel that is not white, scanning rows: where the first grid cell starts. */
function firstInk(img: RgbImage): [number, number] {
  for (let y = 0; y < img.height; y++) for (let x = 0; x < img.width; x++) if (!near(at(img, x, y), [255, 255, 255])) return [x, y];
  throw new Error('blank image');
}

describe('render: notebook pictures', () => {
  describe('axis ticks', () => {
    it('picks 1-2-5 steps that cover the range and label them with the decimals the step needs', () => {
      expect(niceTicks(0, 1, 5).values).to.deep.equal([0, 0.2, 0.4, 0.6, 0.8, 1]);
      const t = niceTicks(-0.0037, 0.0041, 4);
      expect(t.step).to.equal(0.002);
      expect(t.values).to.deep.equal([-0.004, -0.002, 0, 0.002, 0.004, 0.006]);
      expect(niceTicks(2.3, 2.3).values[0]).to.be.below(2.3);
      expect(formatTick(0.4, 0.2)).to.equal('0.4');
      expect(formatTick(20, 10)).to.equal('20');
      expect(formatTick(0.0002, 0.0001)).to.equal('2.0e-4');
    });
  });

  describe('barChartPng', () => {
    const red = hex(BAR_COLORS.positive);
    const blue = hex(BAR_COLORS.negative);
    const green = hex(BAR_COLORS.highlight);

    it('[1, -1]: a red bar above the zero line on the left, a blue one below it on the right', async () => {
      const img = await decodeImage(barChartPng([1, -1], { width: 400, height: 300 }));
      expect([img.width, img.height]).to.deep.equal([400, 300]);
      const reds = find(img, red);
      const blues = find(img, blue);
      expect(reds.length).to.be.above(1000);
      expect(blues.length).to.be.above(1000);
      expect(Math.max(...reds.map(([x]) => x))).to.be.below(img.width / 2);
      expect(Math.min(...blues.map(([x]) => x))).to.be.above(img.width / 2);
      // Equal magnitudes: equal bar areas, on either side of one zero line.
      expect(reds.length).to.equal(blues.length);
      expect(Math.max(...reds.map(([, y]) => y))).to.be.below(Math.min(...blues.map(([, y]) => y)));
    });

    it('top-N by |value| with sort desc puts the largest first and drops the small ones', async () => {
      const img = await decodeImage(barChartPng([0.1, -5, 3], { top: 2, sort: 'desc', width: 300, height: 200 }));
      const reds = find(img, red);
      const blues = find(img, blue);
      // Index order would be -5 (blue) then 3 (red); sorted, the red 3 comes first.
      expect(Math.max(...reds.map(([x]) => x))).to.be.below(Math.min(...blues.map(([x]) => x)));
      // Without 0.1, the two shown bars share the width: the red one starts near the left axis.
      const redWidth = Math.max(...reds.map(([x]) => x)) - Math.min(...reds.map(([x]) => x)) + 1;
      expect(redWidth).to.be.above(img.width / 3);
      // Bar lengths follow the values: 5 against 3.
      expect(blues.length / reds.length).to.be.closeTo(5 / 3, 0.15);
    });

    it('highlighted indices use the accent colour instead of red or blue', async () => {
      const img = await decodeImage(barChartPng([1, -1], { highlight: [1], width: 300, height: 200 }));
      expect(find(img, blue)).to.have.length(0);
      expect(find(img, green).length).to.be.above(500);
      expect(find(img, red).length).to.be.above(500);
    });

    it('draws 128 labelled channels and 10 named probabilities at the requested size', async () => {
      const alphas = Float32Array.from({ length: 128 }, (_, k) => Math.sin(k) * 0.003);
      const a = await decodeImage(barChartPng(alphas, { labels: Array.from({ length: 128 }, (_, k) => `k=${k}`), title: 'alpha' }));
      expect([a.width, a.height]).to.deep.equal([720, 360]);
      expect(find(a, red).length).to.be.above(100);
      expect(find(a, blue).length).to.be.above(100);
      const names = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];
      const p = await decodeImage(barChartPng([0, 0, 0, 0, 1, 0, 0, 0, 0, 0], { labels: names, width: 500, height: 260 }));
      expect([p.width, p.height]).to.deep.equal([500, 260]);
      const reds = find(p, red);
      // Only "deer" (the 5th of 10 slots) has a bar.
      const xs = reds.map(([x]) => x);
      expect(Math.min(...xs)).to.be.above(p.width * 0.35);
      expect(Math.max(...xs)).to.be.below(p.width * 0.6);
    });

    it('rejects empty input, non-finite values and mismatched labels', () => {
      expect(() => barChartPng([])).to.throw(/no values/);
      expect(() => barChartPng([1, NaN])).to.throw(/finite/);
      expect(() => barChartPng([1, 2], { labels: ['a'] })).to.throw(/1 labels for 2 values/);
    });
  });

  describe('imageGridPng', () => {
    const cell = (seed: number): Uint8Array => Uint8Array.from({ length: 4 * 3 * 3 }, (_, i) => 10 + ((i * 37 + seed * 11) % 200));

    it('each cell is its pixels upscaled by nearest neighbour, in row-major cell order', async () => {
      const scale = 5;
      const cells = [0, 1, 2].map((s) => ({ pixels: cell(s), width: 4, height: 3, label: `c${s}` }));
      const img = await decodeImage(imageGridPng(cells, { columns: 2, scale }));
      const [x0, y0] = firstInk(img);
      const check = (pixels: Uint8Array, ox: number, oy: number): void => {
        for (let y = 0; y < 3 * scale; y++) {
          for (let x = 0; x < 4 * scale; x++) {
            const p = 3 * (Math.floor(y / scale) * 4 + Math.floor(x / scale));
            expect(at(img, ox + x, oy + y)).to.deep.equal([pixels[p], pixels[p + 1], pixels[p + 2]]);
          }
        }
      };
      check(cells[0].pixels, x0, y0);
      // The first cell starts one gap in; the second is one cell and one gap to its right.
      const cellW = 4 * scale;
      expect(img.width).to.equal(x0 + 2 * (cellW + x0));
      check(cells[1].pixels, x0 + cellW + x0, y0);
      // The third starts the next row: the first ink below the first cell in its left column
      // (its centred label does not reach that column).
      let y2 = y0 + 3 * scale;
      while (y2 < img.height && near(at(img, x0, y2), [255, 255, 255])) y2++;
      expect(y2).to.be.above(y0 + 3 * scale + x0);
      check(cells[2].pixels, x0, y2);
      // The label "c0" is drawn in the band between the first cell and the third.
      let ink = 0;
      for (let y = y0 + 3 * scale; y < y2; y++) for (let x = x0; x < x0 + cellW; x++) if (!near(at(img, x, y), [255, 255, 255])) ink++;
      expect(ink).to.be.above(10);
    });

    it('accepts grey cells, defaults to 10 columns at scale 2 for 32 px images, title on top', async () => {
      const grey = Uint8Array.from({ length: 32 * 32 }, (_, i) => i % 256);
      const cells = Array.from({ length: 20 }, (_, i) => ({ pixels: grey, width: 32, height: 32, label: `class ${i % 10}` }));
      const img = await decodeImage(imageGridPng(cells, { title: 'samples per class' }));
      // Default: 10 columns, scale 2 (32 px -> 64 px), two rows.
      expect(img.width).to.equal(8 + 10 * (64 + 8));
      const [, y0] = firstInk(img); // the title comes first
      expect(y0).to.be.below(20);
      // Grey 1 sits at 4 pixels of each 32x32 cell, each a 2x2 block: 20 cells x 4 x 4.
      expect(find(img, [1, 1, 1]).length).to.equal(20 * 4 * 4);
    });

    it('rejects pixel arrays of the wrong length', () => {
      expect(() => imageGridPng([{ pixels: new Uint8Array(10), width: 4, height: 4 }])).to.throw(/cell 0 has 10 values/);
      expect(() => imageGridPng([])).to.throw(/no cells/);
    });
  });

  describe('channelGridPng', () => {
    it('normalises each channel on its own: one hot pixel is the max colour, the rest the min colour', async () => {
      const h = 4;
      const w = 5;
      const K = 3;
      const act = new Float32Array(h * w * K);
      for (let p = 0; p < h * w; p++) {
        act[p * K] = 7; // constant channel 0 -> all minimum colour
        act[p * K + 1] = 0.001; // tiny values: channel 1 still spans the whole colormap
        act[p * K + 2] = -3;
      }
      act[(1 * w + 2) * K + 1] = 0.002;
      const scale = 4;
      const lut = colormapTable('jet');
      const min: Rgb = [lut[0], lut[1], lut[2]];
      const max: Rgb = [lut[765], lut[766], lut[767]];
      const img = await decodeImage(channelGridPng(act, h, w, K, { channels: [1, 0], scale, colormap: 'jet' }));
      const [x0, y0] = firstInk(img);
      for (let y = 0; y < h * scale; y++) {
        for (let x = 0; x < w * scale; x++) {
          const hot = Math.floor(y / scale) === 1 && Math.floor(x / scale) === 2;
          expect(at(img, x0 + x, y0 + y)).to.deep.equal(hot ? max : min);
        }
      }
      // Channel 0 is constant: its cell (the second one) is entirely the minimum colour.
      expect(find(img, max)).to.have.length(scale * scale);
      const second = find(img, min, x0 + w * scale + 1).filter(([, y]) => y >= y0 && y < y0 + h * scale);
      expect(second).to.have.length(h * w * scale * scale);
    });

    it('uses viridis by default and checks its inputs', async () => {
      const act = Float32Array.from([0, 1]); // 1x2 map, one channel
      const img = await decodeImage(channelGridPng(act, 1, 2, 1, { scale: 3 }));
      const lut = colormapTable('viridis');
      expect(find(img, [lut[0], lut[1], lut[2]])).to.have.length(9);
      expect(find(img, [lut[765], lut[766], lut[767]])).to.have.length(9);
      expect(() => channelGridPng(act, 2, 2, 1)).to.throw(/expected 2x2x1/);
      expect(() => channelGridPng(act, 1, 2, 1, { channels: [1] })).to.throw(/not in 0..0/);
      expect(() => channelGridPng(act, 1, 2, 1, { labels: ['a', 'b'] })).to.throw(/2 labels for 1 channels/);
    });
  });

  describe('trainingCurvesPng', () => {
    const steps = 50;
    const batchLoss = Array.from({ length: 2 * steps + 10 }, (_, i) => ({ step: i + 1, loss: 2.3 * Math.exp(-i / 60) + 0.5 }));
    const epochs = [
      { epoch: 1, trainLoss: 1.4, trainAccuracy: 0.45, testAccuracy: 0.5 },
      { epoch: 2, trainLoss: 0.9, trainAccuracy: 0.62, testAccuracy: 0.6 },
    ];

    it('decodes at the requested size with loss curves on the left and both accuracies on the right', async () => {
      const img = await decodeImage(trainingCurvesPng({ batchLoss, epochs, stepsPerEpoch: steps, title: 'run' }, { width: 700, height: 300 }));
      expect([img.width, img.height]).to.deep.equal([700, 300]);
      const half = img.width / 2;
      expect(find(img, hex(CURVE_COLORS.smoothed), 0, half, 8).length).to.be.above(50);
      expect(find(img, hex(CURVE_COLORS.batch), 0, half, 8).length).to.be.above(50);
      expect(find(img, hex(CURVE_COLORS.epochLoss), 0, half, 8).length).to.be.above(10);
      expect(find(img, hex(CURVE_COLORS.train), half, img.width, 8).length).to.be.above(20);
      expect(find(img, hex(CURVE_COLORS.test), half, img.width, 8).length).to.be.above(20);
      // Test accuracy is drawn only on the right.
      expect(find(img, hex(CURVE_COLORS.test), 0, half, 40)).to.have.length(0);
    });

    it('higher accuracy is drawn higher up (0-100 % axis)', async () => {
      const four = [1, 2, 3, 4].map((epoch) => ({ epoch, trainLoss: 1, trainAccuracy: 0.9, testAccuracy: 0.1 }));
      const img = await decodeImage(trainingCurvesPng({ batchLoss: [], epochs: four, stepsPerEpoch: 10 }, { width: 600, height: 300 }));
      // The epoch-1 dots sit a quarter of the way in; the legend's swatches (bottom right) are left out.
      const ys = (c: string): number[] => find(img, hex(c), img.width / 2, img.width - 150, 8).map(([, y]) => y);
      const mean = (v: number[]): number => v.reduce((a, b) => a + b, 0) / v.length;
      expect(ys(CURVE_COLORS.train).length).to.be.above(10);
      expect(mean(ys(CURVE_COLORS.train))).to.be.below(mean(ys(CURVE_COLORS.test)) - 100);
    });

    it('draws from the first batch on: no epochs, batches only, or nothing at all', async () => {
      const early = await decodeImage(trainingCurvesPng({ batchLoss: batchLoss.slice(0, 3), epochs: [], stepsPerEpoch: steps }));
      expect([early.width, early.height]).to.deep.equal([900, 340]);
      expect(find(early, hex(CURVE_COLORS.batch), 0, early.width / 2, 8).length).to.be.above(3);
      expect(find(early, hex(CURVE_COLORS.test), 0, early.width, 8)).to.have.length(0);
      expect(() => trainingCurvesPng({ batchLoss: [], epochs: [], stepsPerEpoch: 0 })).not.to.throw();
      expect(() => trainingCurvesPng({ batchLoss: [{ step: 1, loss: NaN }], epochs: [], stepsPerEpoch: 1 })).not.to.throw();
      expect(() => trainingCurvesPng({ batchLoss, epochs, stepsPerEpoch: steps }, { width: 100 })).to.throw(/too small/);
    });
  });
});
