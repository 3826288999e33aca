/**
 * Step 4 of every CAM (src/cam/normalise.ts): maps upsampled bilinearly with half-pixel centres, then
 * each scaled to peak 1 (an all-zero map stays zero). The native kernel (UPSAMPLE_NORMALISE, on wasm
 * and on tfjs-node in the tensorflow pass) and tfjs's ops on the cpu backend are both checked against
 * the definition computed here in doubles: TensorFlow's ResizeBilinear, in = (o + 0.5) * in/out - 0.5,
 * lower = max(floor(in), 0), upper = min(ceil(in), size - 1), horizontal lerps first.
 */
import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import { initBackend, UPSAMPLE_NORMALISE } from '../../src/backend';
import { MAP_EPSILON, UPSAMPLE_NORMALISE as NAMED_IN_CAM, upsampleAndNormalise } from '../../src/cam/normalise';
import { nativeAddonOrSkip } from '../support/native-fixture';

function axis(inSize: number, outSize: number, o: number): [number, number, number] {
  const at = (o + 0.5) * (inSize / outSize) - 0.5;
  return [Math.max(Math.floor(at), 0), Math.min(Math.ceil(at), inSize - 1), at - Math.floor(at)];
}

/** The definition, in doubles: [R,h,w] -> [R,H,W]. */
function definition(maps: Float32Array, R: number, h: number, w: number, H: number, W: number): Float64Array {
  const out = new Float64Array(R * H * W);
  for (let r = 0; r < R; r++) {
    const m = (y: number, x: number) => maps[(r * h + y) * w + x];
    for (let oy = 0; oy < H; oy++) {
      const [y0, y1, fy] = axis(h, H, oy);
      for (let ox = 0; ox < W; ox++) {
        const [x0, x1, fx] = axis(w, W, ox);
        const top = m(y0, x0) + (m(y0, x1) - m(y0, x0)) * fx;
        const bottom = m(y1, x0) + (m(y1, x1) - m(y1, x0)) * fx;
        out[(r * H + oy) * W + ox] = top + (bottom - top) * fy;
      }
    }
    const slice = out.subarray(r * H * W, (r + 1) * H * W);
    const peak = slice.reduce((a, b) => Math.max(a, b), -Infinity);
    for (let i = 0; i < slice.length; i++) slice[i] = peak > MAP_EPSILON ? slice[i] / peak : 0;
  }
  return out;
}

interface Case { name: string; R: number; h: number; w: number; H: number; W: number; maps?: (i: number) => number }
const CASES: Case[] = [
  { name: 'MobileNetV2 and ResNet50: 7x7 -> 224x224, five classes', R: 5, h: 7, w: 7, H: 224, W: 224 },
  { name: 'InceptionV3: 8x8 -> 299x299 (no whole ratio)', R: 2, h: 8, w: 8, H: 299, W: 299 },
  { name: 'uneven: 5x3 -> 17x40', R: 3, h: 5, w: 3, H: 17, W: 40 },
  { name: 'smaller: 10x9 -> 4x6', R: 2, h: 10, w: 9, H: 4, W: 6 },
  { name: 'one pixel -> 5x5', R: 2, h: 1, w: 1, H: 5, W: 5 },
  // An all-zero map, and one whose peak is below epsilon: both stay zero; a third row is ordinary.
  { name: 'all-zero and below-epsilon maps', R: 3, h: 4, w: 4, H: 9, W: 9, maps: (i) => (i < 16 ? 0 : i < 32 ? 5e-8 : (i * 7) % 11) },
];

function mapsOf(c: Case): Float32Array {
  const n = c.R * c.h * c.w;
  // ReLU'd values with exact zeros, as the CAM's maps are.
  return Float32Array.from({ length: n }, (_, i) => (c.maps ? c.maps(i) : Math.max(0, Math.sin(i * 1.7) * 3 + Math.cos(i * 0.3))));
}

function expectDefinition(got: Float32Array, c: Case, maps: Float32Array): void {
  const want = definition(maps, c.R, c.h, c.w, c.H, c.W);
  expect(got.length).to.equal(want.length);
  let worst = 0;
  for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]));
  expect(worst, 'largest difference from the definition (values in [0,1])').to.be.below(2e-6);
  for (let r = 0; r < c.R; r++) {
    const row = got.subarray(r * c.H * c.W, (r + 1) * c.H * c.W);
    const peak = row.reduce((a, b) => Math.max(a, b), 0);
    expect(peak === 0 || peak === 1, `row ${r}'s peak is exactly 1, or the row is all zero (got ${peak})`).to.equal(true);
  }
}

describe('upsampling and normalising the maps (step 4)', function () {
  this.timeout(60_000);

  it('is the same kernel name in the engine (cam, which cannot import it) and in the backend', () => {
    expect(NAMED_IN_CAM).to.equal(UPSAMPLE_NORMALISE);
  });

  for (const backend of ['active', 'cpu'] as const) {
    describe(backend === 'cpu' ? "tfjs's ops on the cpu backend (no native kernel)" : 'the active backend (the native kernel where the addon is built)', () => {
      let previous = '';
      before(async function () {
        previous = tf.getBackend() ?? '';
        if (backend === 'cpu') await tf.setBackend('cpu');
        else {
          await initBackend({ quiet: true });
          nativeAddonOrSkip(this);
          expect(tf.getKernel(UPSAMPLE_NORMALISE, tf.getBackend()), `the kernel on ${tf.getBackend()}`).to.not.equal(undefined);
        }
      });
      after(async () => {
        if (previous) await tf.setBackend(previous);
      });
      for (const c of CASES) {
        it(c.name, () => {
          const maps = mapsOf(c);
          const before = tf.memory().numTensors;
          const got = tf.tidy(() => upsampleAndNormalise(tf.tensor3d(maps, [c.R, c.h, c.w]), [c.H, c.W]).dataSync() as Float32Array);
          expect(tf.memory().numTensors, 'tensors left behind').to.equal(before);
          expectDefinition(got, c, maps);
        });
      }
    });
  }

  it('gives the same bits on one thread and on two', function () {
    const addon = nativeAddonOrSkip(this);
    const c = CASES[1];
    const maps = mapsOf(c);
    const run = (threads: number) => {
      const saved = addon.threads();
      addon.setThreads(threads);
      try {
        const out = new Float32Array(c.R * c.H * c.W).fill(NaN);
        addon.upsampleNormalise(maps, out, Int32Array.of(c.R, c.h, c.w, c.H, c.W), MAP_EPSILON);
        return out;
      } finally {
        addon.setThreads(saved);
      }
    };
    const one = run(1);
    expect(Array.from(run(2))).to.deep.equal(Array.from(one));
    expectDefinition(one, c, maps);
  });

  it('refuses arrays that do not fit the sizes, with a message that names them', function () {
    const addon = nativeAddonOrSkip(this);
    expect(() => addon.upsampleNormalise(new Float32Array(4), new Float32Array(9), Int32Array.of(1, 2, 2, 3, 4), 1e-7)).to.throw(/out R\*H\*W/);
    expect(() => addon.upsampleNormalise(new Float32Array(4), new Float32Array(9), Int32Array.of(0, 2, 2, 3, 3), 1e-7)).to.throw(/positive/);
  });
});
