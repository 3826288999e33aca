import { expect } from 'chai';
import { boxInPixels } from '../../src/render/region';
import { decodeImage, renderFigure } from '../../src/render';

describe('render: the target region on the figure', () => {
  it("outlines a mask's edge and a box in the stroke colour on the input and overlay panels, nowhere inside", async () => {
    const W = 8;
    const mask = new Float32Array(W * W);
    for (let r = 2; r < 6; r++) for (let c = 2; c < 6; c++) mask[r * W + c] = 1; // a 4x4 square in the middle
    const row = {
      image: new Uint8Array(W * W * 3).fill(0), width: W, height: W, heatmap: new Float32Array(W * W),
      caption: 'square', region: { mask: { data: mask, height: W, width: W } },
    };
    const png = await decodeImage(renderFigure([row], { scale: 4 }));
    const at = (x: number, y: number): number[] => Array.from(png.data.slice((y * png.width + x) * 3, (y * png.width + x) * 3 + 3));
    // Panel 0 starts at x = 8, y = 22 (header) + 20 (caption); cell edges at 2*4 = 8 px into it.
    const [x0, y0] = [8, 42];
    expect(at(x0 + 16, y0 + 8), 'top edge of the square').to.deep.equal([0, 229, 255]);
    expect(at(x0 + 16, y0 + 16), 'inside the square stays the image').to.deep.equal([0, 0, 0]);
    expect(at(x0 + 2, y0 + 2), 'outside stays the image').to.deep.equal([0, 0, 0]);
  });

  it('reads a box within 0..1.5 as fractions of the input, else as pixels', () => {
    expect(boxInPixels([0.25, 0.5, 0.75, 1], 200, 100)).to.deep.equal([50, 50, 150, 100]);
    expect(boxInPixels([10, 20, 110, 90], 200, 100)).to.deep.equal([10, 20, 110, 90]);
  });
});
