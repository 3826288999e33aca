/**
 * Score-CAM's masked batches grow as the input shrinks, within the memory bound it keeps at 224x224:
 * the shipped 32x32 model's 128 channels run as one pass per image. (Its maps are checked against
 * pytorch-grad-cam and a hand computation in pytorch-grad-cam.test.ts and methods.test.ts.)
 */
import { expect } from 'chai';
import { maskedBatch, SCORE_CAM_BATCH } from '../../src/cam/score-cam';

describe('cam: Score-CAM masked batch size', () => {
  it('keeps 64 at 224x224 and above, takes every channel at once on a 32x32 input, never more than K', () => {
    expect(maskedBatch(224, 224, 1280)).to.equal(SCORE_CAM_BATCH);
    expect(maskedBatch(299, 299, 2048)).to.equal(SCORE_CAM_BATCH);
    expect(maskedBatch(32, 32, 128)).to.equal(128);
    expect(maskedBatch(96, 96, 1280)).to.equal(Math.floor((64 * 224 * 224) / (96 * 96)));
    expect(maskedBatch(7, 7, 32)).to.equal(32);
    // Pixels per pass never exceed the 224x224 bound, except where a batch of 64 is the floor.
    for (const size of [32, 64, 96, 128, 160]) expect(maskedBatch(size, size, 4096) * size * size).to.be.at.most(64 * 224 * 224);
  });
});
