import { expect } from 'chai';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { main } from '../../src/cli/main';
import { decodeImage } from '../../src/render';
import { SHARED_CIFAR10, rejection } from '../support/setup';

describe('gradcam trust', function () {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'gradcam-trust-'));
  after(() => fs.rmSync(out, { recursive: true, force: true }));

  it('writes the table (markdown + CSV), the curves and the randomisation figure; Grad-CAM beats the random baseline', async () => {
    const args = ['trust', '--methods', 'gradcam,randomcam', '--images', '3', '--randomisation-images', '2', '--steps', '8', '--out', out];
    // With the real data here, use it (the first 3 test images); otherwise the shipped examples.
    if (fs.existsSync(path.join(SHARED_CIFAR10, 'test_batch.bin'))) args.push('--data', SHARED_CIFAR10);
    expect(await main(args)).to.equal(0);
    const csv = fs.readFileSync(path.join(out, 'trust.csv'), 'utf8').trim().split('\n').map((l) => l.split(','));
    expect(csv[0].slice(0, 4)).to.deep.equal(['method', 'deletion_auc', 'insertion_auc', 'road_combined']);
    expect(csv.map((r) => r[0]).slice(1)).to.deep.equal(['gradcam', 'randomcam']);
    const [gradcam, random] = csv.slice(1).map((r) => r.slice(1, 11).map(Number));
    for (const v of [...gradcam, ...random]) expect(Number.isFinite(v)).to.equal(true);
    for (const auc of [gradcam[0], gradcam[1], random[0], random[1]]) expect(auc).to.be.within(0, 1);
    expect(gradcam[1]).to.be.above(random[1]); // insertion
    const md = fs.readFileSync(path.join(out, 'trust.md'), 'utf8');
    expect(md).to.match(/\| Grad-CAM \| 0\.\d{3} \|/);
    expect(md).to.contain('n/a (random)');
    const curves = await decodeImage(path.join(out, 'curves.png'));
    expect(curves.width).to.be.above(600);
    const figure = await decodeImage(path.join(out, 'randomisation.png'));
    // input + trained + one column per weighted layer of the shipped model (7), two method rows.
    expect(figure.width).to.be.above(9 * 96);
    expect(figure.height).to.be.above(2 * 96);
  });

  it('names bad options: an unknown method, a missing --out, a bad baseline', async () => {
    expect((await rejection(main(['trust', '--methods', 'gradcam,nope', '--out', out]))).message).to.match(/unknown method 'nope'.*gradcam, gradcam\+\+/);
    expect((await rejection(main(['trust']))).message).to.match(/--out DIR is required/);
    expect((await rejection(main(['trust', '--baseline', 'zero', '--out', out]))).message).to.match(/--baseline 'zero' is unknown; use blur \(default\) or mean/);
  });
});
