import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/backend';
(async () => {
  await initBackend({ backend: 'wasm', quiet: true } as never);
  const img = tf.randomUniform([1, 32, 32, 3]); const masks = tf.randomUniform([128, 32, 32, 1]);
  const a = tf.randomUniform([128, 32, 32, 3]); const b = tf.randomUniform([128, 32, 32, 3]);
  const x = tf.randomUniform([128, 32, 32, 32]);
  const time = (name: string, f: () => tf.Tensor) => { let best = 1e9; for (let r = 0; r < 30; r++) { const t = performance.now(); const y = f(); best = Math.min(best, performance.now() - t); y.dispose(); } console.log(name, best.toFixed(3), 'ms'); };
  time('broadcast mul [1,32,32,3]x[128,32,32,1]', () => tf.mul(img, masks));
  time('same-shape mul [128,32,32,3]', () => tf.mul(a, b));
  time('scalar mul [128,32,32,3]', () => tf.mul(a, 0.5));
  time('maxPool 2x2 [128,32,32,32]', () => tf.maxPool(x as tf.Tensor4D, 2, 2, 'valid'));
})();
