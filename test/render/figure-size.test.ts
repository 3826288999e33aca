import { expect } from 'chai';
import { decodeImage, renderFigure, rowPanels } from '../../src/render';
import { fitText, MAX_PANEL, panelScale } from '../../src/render/figure';
import type { FigureRow } from '../../src/render';

function row(size: number, guided = true): FigureRow {
  const n = size * size;
  return {
    image: Uint8Array.from({ length: n * 3 }, (_, i) => (i * 37) % 256),
    width: size,
    height: size,
    heatmap: Float32Array.from({ length: n }, (_, i) => (i % size) / size),
    guided: guided ? Float32Array.from({ length: n * 3 }, (_, i) => Math.sin(i)) : undefined,
    guidedGradCam: guided ? Float32Array.from({ length: n * 3 }, (_, i) => Math.cos(i)) : undefined,
    caption: `${size} px`,
  };
}

describe('render: figures sized for people', () => {
  it('picks crisp whole-number upscales for small inputs and at most 256 px panels for large ones', () => {
    expect([32, 64, 96, 139, 224, 256].map((s) => panelScale(s, s))).to.deep.equal([4, 4, 2, 1, 1, 1]);
    expect(panelScale(299, 299) * 299).to.be.closeTo(MAX_PANEL, 1e-9);
    expect(panelScale(512, 300) * 512).to.be.closeTo(MAX_PANEL, 1e-9);
  });

  it('keeps a 32x32 input crisp: every source pixel is a 4x4 block of one colour', () => {
    const r = row(32);
    const [input] = rowPanels(r);
    expect([input?.width, input?.height]).to.deep.equal([128, 128]);
    for (let y = 0; y < 128; y++) {
      for (let x = 0; x < 128; x++) {
        const src = 3 * (Math.floor(y / 4) * 32 + Math.floor(x / 4));
        const at = 3 * (y * 128 + x);
        expect([input?.data[at], input?.data[at + 1], input?.data[at + 2]]).to.deep.equal([r.image[src], r.image[src + 1], r.image[src + 2]]);
      }
    }
  });

  for (const [size, panel] of [[224, 224], [299, 256]] as const) {
    it(`a ${size}x${size} figure has ${panel} px panels and is about ${8 + 5 * (panel + 8)} px wide (was ${size * 4 * 5} px)`, async () => {
      const panels = rowPanels(row(size));
      for (const p of panels) expect([p?.width, p?.height]).to.deep.equal([panel, panel]);
      const png = await decodeImage(renderFigure([row(size)], { title: 'size' }));
      expect(png.width).to.equal(8 + 5 * (panel + 8));
      expect(png.height).to.be.below(panel + 80);
    });
  }

  it('a shrunk input is a bilinear average, not a sample: a fine checkerboard turns mid-grey', () => {
    const size = 512;
    const image = Uint8Array.from({ length: size * size * 3 }, (_, i) => (((Math.floor(i / 3) % size) + Math.floor(i / 3 / size)) % 2 ? 255 : 0));
    const [input] = rowPanels({ ...row(size, false), image }); // 512 -> 256: each output pixel averages a 2x2 block
    const values = input?.data ?? new Uint8ClampedArray(0);
    expect(values.length).to.equal(256 * 256 * 3);
    expect(values.reduce((m, v) => Math.min(m, v), 255)).to.be.at.least(127);
    expect(values.reduce((m, v) => Math.max(m, v), 0)).to.be.at.most(128);
  });

  it('rejects a scale that is neither a whole number nor below 1', () => {
    expect(() => rowPanels(row(32), { scale: 2.5 })).to.throw(RangeError, /Figure scale 2.5 must be a whole number/);
  });
});

describe('render: long titles', () => {
  it('cuts a title wider than the figure with an ellipsis', () => {
    const width = (t: string): number => t.length * 7;
    expect(fitText('short', 100, width)).to.equal('short');
    const cut = fitText('x'.repeat(200), 700, width);
    expect(cut.endsWith('…')).to.equal(true);
    expect(width(cut)).to.be.at.most(700);
    expect(width(cut)).to.be.above(690);
  });
});
