/** tf.profile of one call, printed kernel by kernel: the table bench/profile.ts and bench/profile-keras.ts print. */
import * as tf from '@tensorflow/tfjs';

/** Runs `fn` twice to warm up (kernels compiled, wasm memory grown, folds cached), then profiles a third call. */
export async function printKernelProfile(label: string, fn: () => void, top = Infinity): Promise<void> {
  fn();
  fn();
  const t0 = performance.now();
  const info = await tf.profile(fn);
  const wall = performance.now() - t0;
  const byKernel = new Map<string, { ms: number; calls: number }>();
  // Op scopes (fusedConv2d__op, a custom gradient's 'forward') wrap kernels: count kernels only.
  for (const k of info.kernels.filter((k) => !/^[a-z]/.test(k.name))) {
    const e = byKernel.get(k.name) ?? { ms: 0, calls: 0 };
    e.ms += typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
    e.calls += 1;
    byKernel.set(k.name, e);
  }
  const kernelTotal = [...byKernel.values()].reduce((s, e) => s + e.ms, 0);
  console.log(`\n${label}: ${wall.toFixed(1)} ms wall (profiled), ${kernelTotal.toFixed(1)} ms in kernels, ${(wall - kernelTotal).toFixed(1)} ms outside them`);
  for (const [name, e] of [...byKernel.entries()].sort((a, b) => b[1].ms - a[1].ms).slice(0, top)) {
    console.log(`  ${name.padEnd(36)} ${e.ms.toFixed(2).padStart(8)} ms ${((100 * e.ms) / kernelTotal).toFixed(1).padStart(5)}%  ${e.calls} calls`);
  }
}
