import { expect } from 'chai';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend';
import type { Explanation } from '../../src/cam';
import {
  applyColormap, bilinearResize, decodeImage, encodePng, figureRows, gradientImage, nearestUpscale, overlay, renderFigure, writeFigure,
  writePng,
} from '../../src/render';

const rgb = (a: Uint8ClampedArray): number[] => Array.from(a);

describe('render', () => {
  const dirs: string[] = [];
  before(async () => {
    await initBackend({ quiet: true });
  });
  after(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

  describe('colormaps', () => {
    it("jet: dark blue, matplotlib's jet(0.5) = (0.490, 1, 0.478), dark red", () => {
      expect(rgb(applyColormap([0, 0.5, 1], 'jet'))).to.deep.equal([0, 0, 128, 125, 255, 122, 128, 0, 0]);
    });
    it('viridis: #440154, #21918c, #fde725', () => {
      expect(rgb(applyColormap([0, 0.5, 1], 'viridis'))).to.deep.equal([0x44, 0x01, 0x54, 0x21, 0x91, 0x8c, 0xfd, 0xe7, 0x25]);
    });
    it("turbo: Google's table at entries 0, 64 and 255", () => {
      expect(rgb(applyColormap([0, 64 / 255, 1], 'turbo'))).to.deep.equal([48, 18, 59, 40, 188, 235, 122, 4, 3]);
    });
    it('clamps out-of-range values and maps NaN to the low end', () => {
      expect(rgb(applyColormap([-3, 7, NaN], 'jet'))).to.deep.equal([0, 0, 128, 128, 0, 0, 0, 0, 128]);
    });
  });

  describe('resampling', () => {
    it('bilinear 2x2 -> 4x4 with half-pixel centres (hand-computed)', () => {
      const out = bilinearResize([0, 1, 2, 3], 2, 2, 4, 4);
      expect(Array.from(out)).to.deep.equal([
        0, 0.25, 0.75, 1,
        0.5, 0.75, 1.25, 1.5,
        1.5, 1.75, 2.25, 2.5,
        2, 2.25, 2.75, 3,
      ]);
    });
    it('bilinear matches tf.image.resizeBilinear(alignCorners=false, halfPixelCenters=true), as used in cam', () => {
      const src = Float32Array.from({ length: 3 * 5 * 2 }, (_, i) => Math.sin(i * 1.7) * 10);
      const ours = bilinearResize(src, 3, 5, 7, 11, 2);
      const theirs = tf.tidy(() => tf.image.resizeBilinear(tf.tensor4d(src, [1, 3, 5, 2]), [7, 11], false, true).dataSync());
      ours.forEach((v, i) => expect(v).to.be.closeTo(theirs[i], 1e-4));
    });
    it('nearest upscale turns each pixel into a block', () => {
      const up = nearestUpscale(new Uint8ClampedArray([1, 2, 3, 4]), 2, 2, 2, 1);
      expect(rgb(up)).to.deep.equal([1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4]);
    });
  });

  describe('overlay and gradient display', () => {
    const image = { width: 1, height: 1, data: new Uint8ClampedArray([200, 100, 0]) };
    const heat = { width: 1, height: 1, data: new Uint8ClampedArray([0, 0, 255]) };
    it('blends with the given opacity', () => {
      expect(rgb(overlay(image, heat, 0).data)).to.deep.equal([200, 100, 0]);
      expect(rgb(overlay(image, heat, 1).data)).to.deep.equal([0, 0, 255]);
      expect(rgb(overlay(image, heat, 0.25).data)).to.deep.equal([150, 75, 64]);
      expect(() => overlay(image, heat, 1.5)).to.throw(RangeError, /opacity 1.5/);
    });
    it('standardises gradients to mid-grey +- 0.1 std; a constant gradient is plain grey, never NaN', () => {
      expect(rgb(gradientImage([-1, -1, -1, 1, 1, 1], 2, 1).data)).to.deep.equal([102, 102, 102, 153, 153, 153]);
      expect(rgb(gradientImage([0, 0, 0], 1, 1).data)).to.deep.equal([128, 128, 128]);
    });
  });

  describe('PNG', () => {
    it('round-trips pixels exactly through canvas encode and decode', async () => {
      const data = Uint8ClampedArray.from({ length: 7 * 5 * 3 }, (_, i) => (i * 37) % 256);
      const back = await decodeImage(encodePng({ width: 7, height: 5, data }));
      expect([back.width, back.height]).to.deep.equal([7, 5]);
      expect(rgb(back.data)).to.deep.equal(rgb(data));
    });

    it('writes atomically: the file appears whole and no temp file is left', async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'render-'));
      dirs.push(dir);
      const file = path.join(dir, 'sub', 'x.png');
      writePng(file, { width: 1, height: 1, data: new Uint8ClampedArray([1, 2, 3]) });
      expect(fs.readdirSync(path.dirname(file))).to.deep.equal(['x.png']);
      expect(rgb((await decodeImage(file)).data)).to.deep.equal([1, 2, 3]);
    });
  });

  describe('figure', () => {
    const [H, W] = [4, 4];
    const image = Uint8ClampedArray.from({ length: H * W * 3 }, (_, i) => (i * 53) % 256);
    const explanation: Explanation = {
      method: 'gradcam',
      layer: 'conv',
      scoreSource: 'logits',
      inputShape: [H, W, 3],
      layerShape: [2, 2, 1],
      output: { name: 'logits', shape: [2], activation: 'linear', kind: 'classes' },
      classNames: ['cat', 'deer'],
      images: [
        {
          logits: new Float32Array([0, 2]),
          probabilities: new Float32Array([0.07, 0.93]),
          predicted: 1,
          activations: new Float32Array(4),
          classes: [0, 1].map((c) => ({
            classIndex: c, target: ['cat', 'deer'][c], resolved: { kind: 'class-logit' as const, class: c }, score: 0, probability: 0, weights: new Float32Array(1), map: new Float32Array(4),
            heatmap: new Float32Array(H * W).fill(c), guided: new Float32Array(H * W * 3), guidedGradCam: new Float32Array(H * W * 3),
          })),
        },
      ],
    };

    it('captions rows "pred: deer 0.93 · true: deer" and names the class of a non-predicted map', () => {
      const rows = figureRows(explanation, [image], { trueLabels: [1] });
      expect(rows.map((r) => r.caption)).to.deep.equal(['pred: deer 0.93 · true: deer · map: cat', 'pred: deer 0.93 · true: deer']);
    });

    it('draws five panels per row with the input upscaled crisply and a jet heatmap', async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'render-'));
      dirs.push(dir);
      const file = path.join(dir, 'figure.png');
      const scale = 4;
      writeFigure(file, figureRows(explanation, [image], { trueLabels: [1] }), { scale });
      const png = await decodeImage(file);
      const panel = W * scale;
      expect(png.width).to.equal(8 + 5 * (panel + 8));
      expect(png.height).to.equal(22 + 2 * (20 + panel + 8));
      const at = (x: number, y: number): number[] => rgb(png.data.subarray(3 * (y * png.width + x), 3 * (y * png.width + x) + 3));
      // Row 0 input panel starts at (8, 22 + 20); each source pixel fills a 4x4 block.
      for (let y = 0; y < H * scale; y++) {
        for (let x = 0; x < W * scale; x++) {
          const p = (Math.floor(y / scale) * W + Math.floor(x / scale)) * 3;
          expect(at(8 + x, 42 + y)).to.deep.equal(rgb(image.subarray(p, p + 3)));
        }
      }
      // Heatmap column: the map for 'cat' is all 0 -> jet dark blue; for 'deer' all 1 -> dark red.
      expect(at(8 + panel + 8 + 5, 42 + 5)).to.deep.equal([0, 0, 128]);
      expect(at(8 + panel + 8 + 5, 42 + panel + 28 + 5)).to.deep.equal([128, 0, 0]);
      expect(renderFigure(figureRows(explanation, [image]), { scale: 1 }).subarray(1, 4).toString()).to.equal('PNG');
    });
  });
});
