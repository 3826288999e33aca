/**
 * The widget's pure parts in Node (no browser): decoding the binary buffers, the numbers the view
 * draws, the canvas blend; the built labextension's layout; installing it into a prefix.
 */
import { expect } from 'chai';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { decodeImage, exact, float32Of } from '../../widget/src/decode';
import { alphaBars, channelMap, classMap, classOrder } from '../../widget/src/derive';
import { blendHeatmap, blendRgb } from '../../widget/src/composite';
import { colormapTable } from '../../src/shared/colormap';
import { removeBuffers, type WidgetState } from '../../src/jupyter/buffers';
import type { MethodName } from '../../src/shared/gradcam-schema';
import { installWidget, labextensionSource, labextensionsDir, WIDGET_EXTENSION_NAME } from '../../src/cli/install-widget';
import { syntheticState } from '../support/e2e/state';
import { brushPixels, paintSquare, paintStroke } from '../../widget/src/brush';
import { RequestBook } from '../../widget/src/requests';

/** The bytes of a typed array as a DataView, as the browser's widget manager hands them over. */
function asDataView(a: ArrayBufferView, offset = 0): DataView {
  const buf = new ArrayBuffer(a.byteLength + offset);
  new Uint8Array(buf, offset).set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
  return new DataView(buf, offset, a.byteLength);
}

describe('widget model: binary buffers', () => {
  it('decodes every buffer the kernel splits off the state, put back at its buffer path', () => {
    const state = syntheticState();
    // What the kernel really sends: JSON plus one buffer per typed array, each with its path.
    const split = removeBuffers(state as unknown as WidgetState);
    expect(split.buffer_paths.filter((p) => p[1] === 0).map((p) => p.slice(2).join('.'))).to.have.members([
      'pixels', 'probs', 'logits', 'alphas', 'activations', 'maps.gradcam', 'maps.counterfactual', 'maps.guided-gradcam',
    ]);
    // What the browser's widget manager does with it: each buffer, as a DataView, at its path.
    const wire = JSON.parse(JSON.stringify(split.state)) as Record<string, unknown>;
    split.buffer_paths.forEach((p, n) => {
      let at = wire as Record<string | number, unknown>;
      for (const key of p.slice(0, -1)) at = at[key] as Record<string | number, unknown>;
      at[p[p.length - 1]] = asDataView(split.buffers[n]);
    });
    const sent = state.images[0];
    const img = decodeImage((wire.images as typeof state.images)[0]);
    expect(img.pixels).to.be.instanceOf(Uint8Array).with.length(32 * 32 * 3);
    expect(img.probs).to.be.instanceOf(Float32Array).with.length(10);
    expect(img.maps['guided-gradcam']).to.have.length(10 * 32 * 32 * 3);
    for (const key of ['pixels', 'probs', 'logits', 'alphas', 'activations'] as const) {
      expect(Array.from(img[key]), key).to.deep.equal(Array.from(sent[key] as Float32Array));
    }
    for (const [m, a] of Object.entries(sent.maps)) expect(Array.from(img.maps[m as MethodName] ?? []), m).to.deep.equal(Array.from(a as Float32Array));
  });

  it('copies float32 data that arrives at an offset not divisible by 4', () => {
    const values = Float32Array.of(1.5, -2, 3.25);
    expect(Array.from(float32Of('probs', asDataView(values, 3)))).to.deep.equal([1.5, -2, 3.25]);
  });

  it('hands back only whole-buffer arrays for serialisation (ipywidgets sends a view\'s entire buffer)', () => {
    const whole = Float32Array.of(1, 2, 3, 4);
    expect(exact(whole)).to.equal(whole);
    const part = whole.subarray(1, 3);
    const copy = exact(part);
    expect(copy.buffer.byteLength).to.equal(8);
    expect(Array.from(copy)).to.deep.equal([2, 3]);
  });

  it('names the field and the expected size when a buffer has the wrong length', () => {
    const wire = syntheticState().images[0];
    expect(() => decodeImage({ ...wire, alphas: new Float32Array(5) })).to.throw(/images\[\]\.alphas has 5 values, expected 240/);
    expect(() => decodeImage({ ...wire, pixels: [1, 2, 3] as unknown as Uint8Array })).to.throw(/pixels must be a binary buffer/);
  });
});

describe('widget view data: what is drawn', () => {
  const img = decodeImage(syntheticState().images[0]);

  it('orders classes by probability, ties by index', () => {
    expect(classOrder([0.1, 0.5, 0.1, 0.3])).to.deep.equal([1, 3, 0, 2]);
  });

  it('sorts the alpha bars of a class by weight and ranks their strength by |alpha|', () => {
    const bars = alphaBars(img, 2);
    const K = img.channels;
    expect(bars).to.have.length(K);
    for (let i = 1; i < K; i++) expect(bars[i - 1].value).to.be.at.least(bars[i].value);
    const strongest = bars.find((b) => b.strength === 0);
    const maxAbs = Math.max(...Array.from(img.alphas.subarray(2 * K, 3 * K), Math.abs));
    expect(Math.abs(strongest?.value ?? 0)).to.be.closeTo(maxAbs, 1e-7);
    expect(bars.map((b) => b.channel).sort((a, b) => a - b)).to.deep.equal(Array.from({ length: K }, (_, k) => k));
  });

  it("gives class c's own slice of a map", () => {
    const m = classMap(img.maps.gradcam, img, 3, 1);
    expect(m).to.have.length(32 * 32);
    expect(m?.[0]).to.equal(img.maps.gradcam?.[3 * 32 * 32]);
    expect(classMap(undefined, img, 3, 1)).to.equal(undefined);
  });

  it('upsamples a channel of A to the image and scales it to a peak of 1', () => {
    const cm = channelMap(img, 5);
    expect(cm.map).to.have.length(32 * 32);
    expect(Math.max(...cm.map)).to.be.closeTo(1, 0.05);
    expect(Math.min(...cm.map)).to.be.at.least(0);
    expect(cm.max).to.be.greaterThan(0);
  });

  it('blends (1 - a) * image + a * colour per pixel, opaque', () => {
    const out = new Uint8ClampedArray(8);
    const lut = colormapTable('jet');
    blendHeatmap(out, Uint8Array.of(100, 100, 100, 0, 0, 0), [1, 0], lut, 0.5);
    expect(Array.from(out)).to.deep.equal([Math.round(50 + lut[765] / 2), Math.round(50 + lut[766] / 2), Math.round(50 + lut[767] / 2), 255, 0, 0, Math.round(lut[2] / 2), 255]);
    blendRgb(out, Uint8Array.of(0, 0, 0, 200, 200, 200), [1, 0.5, 0, 0, 0, 0], 1);
    expect(Array.from(out)).to.deep.equal([255, 128, 0, 255, 0, 0, 0, 255]);
  });
});

describe('widget occlusion brush and request book', () => {
  it('paints a clipped grey square of the brush size, and a stroke leaves no gaps', () => {
    const W = 8;
    const px = new Uint8Array(W * W * 3).fill(7);
    paintSquare(px, W, W, 0, 0, 4); // centred on the corner: clipped to 2x2
    const grey = (x: number, y: number) => px[3 * (y * W + x)] === 128;
    const painted = Array.from({ length: W * W }, (_, p) => grey(p % W, Math.floor(p / W))).filter(Boolean).length;
    expect(painted).to.equal(4);
    expect([grey(0, 0), grey(1, 1), grey(2, 2)]).to.deep.equal([true, true, false]);
    const line = new Uint8Array(W * W * 3);
    paintStroke(line, W, W, 0.5, 4, 7.5, 4, 2); // a fast drag across the row: every column touched
    for (let x = 0; x < W; x++) expect(line[3 * (4 * W + x)], `column ${x}`).to.equal(128);
    expect([brushPixels('S', 32), brushPixels('M', 32), brushPixels('L', 32), brushPixels('S', 4)]).to.deep.equal([4, 8, 16, 1]);
  });

  it('draws only the newest request of a slot, times it, and gives up on unanswered ones', () => {
    let now = 0;
    const book = new RequestBook(() => now);
    const a = book.open(0);
    now = 10;
    const b = book.open(0); // a newer stroke on the same panel
    const layer = book.open('layer');
    expect(book.waiting(0)).to.equal(true);
    now = 25;
    expect(book.close(a, { image: 0 })).to.include({ slot: 0, newest: false });
    expect(book.waiting(0), 'still waiting for the newest').to.equal(true);
    expect(book.close(b, { image: 0 })).to.deep.equal({ request: b, slot: 0, newest: true, ms: 15, image: 0 });
    expect(book.waiting(0)).to.equal(false);
    expect(book.close('another-tab-7', { image: 1 }), "another page's answer").to.deep.equal({ request: 'another-tab-7', newest: false, image: 1 });
    now = 70_000;
    expect(book.expire(60_000)).to.deep.equal(['layer']);
    expect(book.waiting('layer')).to.equal(false);
    expect(book.close(layer, {})).to.include({ newest: false });
  });
});

describe('widget packaging', () => {
  const built = path.join(labextensionSource(), 'package.json');

  it('builds a prebuilt JupyterLab 4 extension: package.json with its remote entry, static/, install.json, no copy of @jupyter-widgets/base', function () {
    if (!fs.existsSync(built)) this.skip(); // `npm run build` makes it; npm test builds first
    const pkg = JSON.parse(fs.readFileSync(built, 'utf8')) as { name: string; jupyterlab: { _build: { load: string; extension: string } } };
    expect(pkg.name).to.equal(WIDGET_EXTENSION_NAME);
    expect(pkg.jupyterlab._build.extension).to.equal('./extension');
    expect(fs.existsSync(path.join(labextensionSource(), pkg.jupyterlab._build.load))).to.equal(true);
    const install = JSON.parse(fs.readFileSync(path.join(labextensionSource(), 'install.json'), 'utf8')) as { packageName: string };
    expect(install.packageName).to.equal('gradcam-ts');
    const js = fs.readdirSync(path.join(labextensionSource(), 'static')).filter((f) => f.endsWith('.js'));
    const code = js.map((f) => fs.readFileSync(path.join(labextensionSource(), 'static', f), 'utf8')).join('\n');
    expect(code).to.contain('GradCamView');
    // The registry token is defined by @jupyter-widgets/base: shared from the page, never bundled.
    expect(code).to.not.contain('jupyter.extensions.jupyterWidgetRegistry');
  });

  it('install-widget --prefix copies it to DIR/share/jupyter/labextensions/gradcam-ts-widget and the page config to DIR/etc/jupyter', async function () {
    if (!fs.existsSync(built)) this.skip();
    const prefix = fs.mkdtempSync(path.join(os.tmpdir(), 'gradcam-widget-'));
    try {
      const dir = await installWidget({ prefix });
      expect(dir).to.equal(path.join(prefix, 'share', 'jupyter', 'labextensions', WIDGET_EXTENSION_NAME));
      expect(fs.existsSync(path.join(dir, 'package.json'))).to.equal(true);
      expect(fs.existsSync(path.join(dir, 'install.json'))).to.equal(true);
      expect(fs.existsSync(path.join(prefix, 'etc', 'jupyter', 'labconfig', 'page_config.d', 'gradcam-ts-widget.json'))).to.equal(true);
      await installWidget({ prefix }); // replacing an existing install leaves no temp or old folders
      expect(fs.readdirSync(path.dirname(dir))).to.deep.equal([WIDGET_EXTENSION_NAME]);
    } finally {
      fs.rmSync(prefix, { recursive: true, force: true });
    }
  });

  it('rejects two destinations at once and a missing build, naming what to do', async () => {
    expect(() => labextensionsDir({ user: true, prefix: '/tmp/x' })).to.throw(/pick one of --user, --sys-prefix or --prefix DIR/);
    let err: Error | undefined;
    await installWidget({ prefix: os.tmpdir(), source: path.join(os.tmpdir(), 'no-such-build') }).catch((e: Error) => (err = e));
    expect(err?.message).to.match(/npm run build/);
  });
});
