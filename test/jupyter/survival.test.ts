/**
 * Issue 19, the kernel half, through a real jupyter_client: the kernel must not die, leak or be
 * steered. Brush edits one after another and in a burst (sends never throw into the process),
 * stray async errors with and without a model loaded (the kernel owns the process handlers), and
 * a front end polluting Object.prototype through buffer_paths.
 */
import { expect } from 'chai';
import * as path from 'path';
import { runPython, useKernelWorld } from '../support/kernel-fixture';

describe('the kernel survives what a person or a hostile front end sends (real jupyter_client)', function () {
  this.timeout(300_000);
  const world = useKernelWorld();

  it('lives through 2,000 brush edits one after another and a burst of 1,000, answers every one, and keeps RSS flat', async () => {
    const log = path.join(world().root, 'kernel-stress.log');
    const r = await runPython(world(), 'kernel_stress.py', [log, '2000', '1000'], 280_000);
    for (const line of r.out.split('\n').filter((l) => /^(rss |  \S)/.test(l))) console.log(`      ${line.trim()}`);
    expect(r.code, r.out).to.equal(0);
    expect(r.out).to.include('ALL OK');
  });

  it('reports a throwing timer and an unawaited rejection as error outputs of their cell, with and without the wasm model loaded, and lives', async () => {
    const r = await runPython(world(), 'kernel_errors.py', [path.join(world().root, 'kernel-errors.log')], 200_000);
    expect(r.code, r.out).to.equal(0);
    expect(r.out).to.include('ALL OK');
    expect((r.out.match(/^ok - /gm) ?? []).length, r.out).to.equal(22);
  });

  it('refuses __proto__, constructor and prototype in buffer_paths and state keys: Object.prototype stays clean and the kernel works', async () => {
    const r = await runPython(world(), 'kernel_pollution.py', [path.join(world().root, 'kernel-pollution.log')]);
    expect(r.code, r.out).to.equal(0);
    expect(r.out).to.include('ALL OK');
  });
});
