/**
 * The recycling of native outputs on tfjs-node (src/backend/host-arrays.ts), on a stand-in for
 * tfjs-node's backend that keeps tensors as tfjs-node does (a map of dataId -> values, refCount), so
 * it runs on every machine. test/backend/native-tensorflow.test.ts checks the same rules on the real one.
 */
import { expect } from 'chai';
import type * as tf from '@tensorflow/tfjs';
import { HostArrays } from '../../src/backend/host-arrays';

const BIG = 1 << 16; // above the size below which arrays are not recycled

/** What tfjs-node's NodeJSKernelBackend does with JavaScript-held tensors, and no more. */
class StandInBackend {
  readonly entries = new Map<tf.DataId, { values: Float32Array | null; refCount: number }>();
  readonly tensorMap = { get: (id: tf.DataId) => this.entries.get(id) };
  write(values: Float32Array): tf.DataId {
    const id = {};
    this.entries.set(id, { values, refCount: 1 });
    return id;
  }
  readSync(id: tf.DataId): Float32Array {
    return this.entries.get(id)?.values ?? new Float32Array(0);
  }
  disposeData(id: tf.DataId, force = false): boolean {
    const entry = this.entries.get(id);
    if (!entry) return true;
    if (--entry.refCount > 0 && !force) return false;
    this.entries.delete(id);
    return true;
  }
  /** What a TensorFlow op does to a JavaScript-held input: takes the values into TensorFlow. */
  moveIntoTensorflow(id: tf.DataId): void {
    const entry = this.entries.get(id);
    if (entry) entry.values = null;
  }
}

function setUp(idleMs = 60000) {
  const backend = new StandInBackend();
  const arrays = new HostArrays(backend, idleMs);
  /** A native kernel's output: an array from the free list, adopted, written as a tensor. */
  const output = (length = BIG) => {
    const values = arrays.take(length);
    values.fill(7);
    arrays.adopt(values);
    return { id: backend.write(values), values };
  };
  return { backend, arrays, output };
}

describe('recycling native outputs on tfjs-node (HostArrays)', () => {
  it('reuses a disposed output for the next one of its size, and only of its size', () => {
    const { backend, arrays, output } = setUp();
    const first = output();
    backend.disposeData(first.id);
    expect(arrays.stats()).to.deep.equal({ arrays: 1, bytes: BIG * 4 });
    expect(output(BIG + 1).values).to.not.equal(first.values);
    expect(output().values).to.equal(first.values);
    expect(arrays.stats().arrays).to.equal(0);
  });

  it('never reuses an array someone read through readSync (dataSync, data, array)', () => {
    const { backend, arrays, output } = setUp();
    const seen = output();
    expect(backend.readSync(seen.id)).to.equal(seen.values);
    backend.disposeData(seen.id);
    expect(arrays.stats().arrays).to.equal(0);
  });

  it('lets our own kernels read without that mark (readOwn)', () => {
    const { backend, arrays, output } = setUp();
    const input = output();
    expect(arrays.readOwn(input.id)).to.equal(input.values);
    backend.disposeData(input.id);
    expect(arrays.stats().arrays).to.equal(1);
  });

  it('waits for every tensor sharing an array (a reshape) and every reference (identity)', () => {
    const { backend, arrays, output } = setUp();
    const a = output();
    arrays.share(a.values);
    const reshaped = backend.write(a.values);
    backend.entries.get(a.id)!.refCount++; // an Identity of a
    backend.disposeData(a.id);
    backend.disposeData(a.id);
    expect(arrays.stats().arrays, 'the reshape still holds it').to.equal(0);
    backend.disposeData(reshaped);
    expect(arrays.stats().arrays).to.equal(1);
  });

  it("never takes a user's own array, even one a reshape shares", () => {
    const { backend, arrays } = setUp();
    const mine = new Float32Array(BIG).fill(3);
    const id = backend.write(mine);
    arrays.share(mine);
    const reshaped = backend.write(mine);
    backend.disposeData(reshaped);
    backend.disposeData(id);
    expect(arrays.stats().arrays).to.equal(0);
    expect(mine.every((v) => v === 3)).to.equal(true);
  });

  it('leaves to the garbage collector an array TensorFlow took in, and small arrays', () => {
    const { backend, arrays, output } = setUp();
    const moved = output();
    backend.moveIntoTensorflow(moved.id);
    backend.disposeData(moved.id);
    const small = output(100);
    backend.disposeData(small.id);
    expect(arrays.stats().arrays).to.equal(0);
  });

  it('lets the free list go after a quiet spell', async () => {
    const { backend, arrays, output } = setUp(30);
    backend.disposeData(output().id);
    expect(arrays.stats().arrays).to.equal(1);
    await new Promise((resolve) => setTimeout(resolve, 80));
    expect(arrays.stats()).to.deep.equal({ arrays: 0, bytes: 0 });
  });
});
