import { expect } from 'chai';
import * as zlib from 'zlib';
import { MAX_IMAGE_SIDE, readImageForModel, readImageHeader } from '../../src/render/image-file';
import { rejection } from '../support/setup';

/** A valid RGB PNG of w x h black pixels, written by hand (node-canvas cannot make one this long). */
function blackPng(width: number, height: number): Buffer {
  const chunk = (type: string, data: Buffer): Buffer => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(zlib.crc32(body) >>> 0);
    return Buffer.concat([length, body, crc]);
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8; // bit depth
  header[9] = 2; // RGB
  const rows = Buffer.alloc(height * (1 + 3 * width)); // filter byte 0, then black pixels
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  return Buffer.concat([signature, chunk('IHDR', header), chunk('IDAT', zlib.deflateSync(rows)), chunk('IEND', Buffer.alloc(0))]);
}

describe('image files: size limits', () => {
  it('a valid 40000x1 PNG is refused for its size, naming the size and the limit (not "truncated or corrupt")', async () => {
    const err = await rejection(readImageForModel(blackPng(40000, 1), 32, 32, 'long.png'));
    expect(err.message).to.equal(`long.png is 40000x1 pixels, over the limit of ${MAX_IMAGE_SIDE} pixels a side; downscale it first.`);
    expect(() => readImageHeader(blackPng(1, 40000), 'tall.png')).to.throw(/tall\.png is 1x40000 pixels, over the limit of 32767 pixels a side/);
  });

  it('a PNG at the limit still decodes and is resized', async () => {
    const img = await readImageForModel(blackPng(MAX_IMAGE_SIDE, 1), 32, 32, 'edge.png');
    expect(img.resizedFrom).to.deep.equal({ width: MAX_IMAGE_SIDE, height: 1 });
    expect(img.pixels.length).to.equal(32 * 32 * 3);
  });
});
