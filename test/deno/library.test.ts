/**
 * gradcam-ts under Deno (the npm-installed deno running the built package, as a Deno notebook
 * does): the shipped model, the examples, explain, figures and the CLI give what Node gives.
 */
import { expect } from 'chai';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type * as tf from '@tensorflow/tfjs';
import { decodeImage, explain, initBackend, loadShippedModel, readExamples } from '../../src';
import type { BackendInfo } from '../../src';
import { REPO_ROOT } from '../support/setup';
import { runCli } from '../support/cli-child';
import { requireBuiltPackage, runDeno } from '../support/deno';

const SCRIPT = path.join(__dirname, 'library-under-deno.mts');
const DEER_FILE = path.join(REPO_ROOT, 'examples', 'cifar10', 'test-00505-deer.png');

interface DenoReport {
  deno: string;
  backend: string;
  native: { active: boolean; detail: string } | null;
  description: string;
  testIndex: number;
  predicted: number;
  className: string;
  probability: number;
  heatmap: string;
  guidedLength: number;
  figure: string;
}

function lastJsonLine(stdout: string): DenoReport {
  const line = stdout.trim().split('\n').pop() ?? '';
  return JSON.parse(line) as DenoReport;
}

function floats(base64: string): Float32Array {
  const bytes = Buffer.from(base64, 'base64');
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).to.equal(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

describe('gradcam-ts under Deno (npm-installed deno, the built package)', function () {
  this.timeout(180_000);
  let dir: string;
  let nodeInfo: BackendInfo;
  let model: tf.LayersModel;
  let nodeHeatmap: Float32Array;
  let nodePredicted: number;

  before(async () => {
    requireBuiltPackage();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gradcam-deno-'));
    nodeInfo = await initBackend();
    model = await loadShippedModel();
    const deer = (await readExamples()).find((e) => e.role === 'deer');
    if (!deer) throw new Error('no deer among the shipped examples');
    const e = explain(model, [deer.pixels], { guided: true });
    nodePredicted = e.images[0].predicted;
    nodeHeatmap = e.images[0].classes[0].heatmap;
  });

  after(() => {
    model?.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('explains the deer as Node does: same class, Grad-CAM heatmap within 1e-5, a figure that decodes', async () => {
    const r = await runDeno(['run', '-A', SCRIPT, dir]);
    expect(r.code, r.stderr).to.equal(0);
    const deno = lastJsonLine(r.stdout);
    expect(deno.deno).to.match(/^2\.9\./);
    expect(deno.testIndex).to.equal(505);
    expect(deno.predicted).to.equal(nodePredicted);
    expect(deno.className).to.equal('deer');
    expect(deno.guidedLength).to.equal(32 * 32 * 3);
    const heatmap = floats(deno.heatmap);
    expect(heatmap.length).to.equal(32 * 32);
    expect(maxAbsDiff(heatmap, nodeHeatmap)).to.be.below(1e-5);
    const figure = await decodeImage(deno.figure);
    // one row of five 128 px panels (32 px upscaled 4x) with gaps, header and caption
    expect(figure.width).to.be.greaterThan(5 * 128);
    expect(figure.height).to.be.greaterThan(128);
  });

  it('loads the native addon under Deno whenever Node loads it (or says why in one sentence)', async () => {
    const r = await runDeno(['run', '-A', SCRIPT, dir]);
    expect(r.code, r.stderr).to.equal(0);
    const deno = lastJsonLine(r.stdout);
    expect(deno.backend).to.equal(nodeInfo.name === 'tensorflow' ? 'wasm' : nodeInfo.name);
    const nodeNative = nodeInfo.nativeConvolutions;
    if (nodeNative?.active) {
      expect(deno.native?.active, deno.description).to.equal(true);
    } else {
      expect(deno.native?.active).to.not.equal(true);
      expect(deno.native?.detail ?? '').to.match(/^[^.]+\.?$/);
    }
  });

  it('finds tfjs-backend-wasm\'s .wasm files under Deno (native kernels off): still the deer, heatmap within 1e-5', async () => {
    const r = await runDeno(['run', '-A', SCRIPT, dir], { env: { GRADCAM_NATIVE: '0' } });
    expect(r.code, r.stderr).to.equal(0);
    const deno = lastJsonLine(r.stdout);
    expect(deno.backend).to.equal('wasm');
    expect(deno.native?.active).to.equal(false);
    expect(deno.native?.detail).to.match(/GRADCAM_NATIVE=0/);
    expect(deno.predicted).to.equal(nodePredicted);
    // XNNPACK's convolutions instead of OpenBLAS's: float32 rounding differs (1.8e-7 measured), the map does not
    expect(maxAbsDiff(floats(deno.heatmap), nodeHeatmap)).to.be.below(1e-5);
  });

  it('runs the gradcam CLI under Deno: explain writes the same figure as under Node', async () => {
    const out = path.join(dir, 'cli-deno.png');
    const r = await runDeno(['run', '-A', path.join(REPO_ROOT, 'bin', 'gradcam.js'), 'explain', DEER_FILE, '--out', out]);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.match(/wrote .*cli-deno\.png: pred: deer/);
    const viaNode = path.join(dir, 'cli-node.png');
    const n = await runCli(['explain', DEER_FILE, '--out', viaNode]);
    expect(n.code, n.stderr).to.equal(0);
    const [a, b] = [await decodeImage(out), await decodeImage(viaNode)];
    expect([a.width, a.height]).to.deep.equal([b.width, b.height]);
    // the same heatmap to 1e-5 draws the same pixels, give or take one level of rounding
    expect(maxAbsDiff(a.data, b.data)).to.be.at.most(1);
  });
});
