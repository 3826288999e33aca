/**
 * The kernel's share of a brush stroke's round trip: an edited image arrives as a custom message
 * (through the real comm layer, in this process), the kernel answers with the new maps of every
 * class (first message) and then the guided maps (second message). Timed for the shipped CIFAR-10
 * model and, when the Keras environment exists, a 224x224 MobileNetV2 (5 classes, made by
 * python/keras_bench.py). Prints times and message sizes; the UI test adds the browser's share.
 *   npx tsx bench/widget-round-trip.ts
 */
import * as fs from 'fs';
import * as path from 'path';
import type * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/backend';
import type { KernelTransport, PublishOptions } from '../src/jupyter/comm';
import { KernelRuntime } from '../src/jupyter/runtime';
import { showGradCam } from '../src/gradcam-widget';
import type { JSONObject, JupyterMessage } from '../src/jupyter/wire';
import { loadModel } from '../src/model/io';
import { SHIPPED_MODEL_DIR } from '../src/model/shipped';
import { readExamples } from '../src/render/examples';
import { readImageForModel } from '../src/render';
import { KERAS_PYTHON, withKerasMobileNet } from './keras-mobilenet';
import { LoadWatch, median } from './timing';

const ROOT = path.resolve(__dirname, '..');
const STROKES = 15;

interface Sent { type: string; at: number; bytes: number }

async function measure(name: string, model: tf.LayersModel, pixels: Uint8Array, size: number): Promise<void> {
  const sent: Sent[] = [];
  const transport: KernelTransport = {
    publish(_type: string, content: JSONObject, o: PublishOptions): void {
      const data = content.data as JSONObject | undefined;
      if (data?.method !== 'custom') return;
      const bytes = JSON.stringify(data).length + (o.buffers ?? []).reduce((n, b) => n + b.byteLength, 0);
      sent.push({ type: String((data.content as JSONObject).type), at: performance.now(), bytes });
    },
    reply(): void {},
    log(): void {},
  };
  const runtime = new KernelRuntime(transport);
  const t0 = performance.now();
  const w = await showGradCam(model, [pixels], { widget: { runtime } });
  const showMs = performance.now() - t0;
  const first: number[] = [];
  const second: number[] = [];
  let firstBytes = 0;
  let secondBytes = 0;
  for (let r = 0; r < STROKES + 2; r++) {
    const edited = Uint8Array.from(pixels);
    const x0 = (r * 7) % (size - size / 8);
    for (let y = 0; y < size / 8; y++) edited.fill(128, 3 * (y * size + x0), 3 * (y * size + x0 + size / 8));
    sent.length = 0;
    const asked = performance.now();
    const msg: JupyterMessage = {
      identities: [], parent_header: {}, metadata: {}, buffers: [Buffer.from(edited)],
      header: { msg_id: `b${r}`, msg_type: 'comm_msg', session: 's', username: 'u', date: '', version: '5.3' },
      content: { comm_id: w.id, data: { method: 'custom', content: { type: 'edit', request: `b${r}`, image: 0, width: size, height: size } } },
    };
    runtime.comms.handle(msg);
    while (!sent.some((s) => s.type === 'maps')) await new Promise((res) => setTimeout(res, 1));
    const image = sent.find((s) => s.type === 'image') as Sent;
    const maps = sent.find((s) => s.type === 'maps') as Sent;
    if (r < 2) continue; // warm-up
    first.push(image.at - asked);
    second.push(maps.at - asked);
    firstBytes = image.bytes;
    secondBytes = maps.bytes;
  }
  w.close();
  console.log(
    `| ${name} | ${showMs.toFixed(0)} | ${median(first).toFixed(1)} (min ${Math.min(...first).toFixed(1)}) | ${(firstBytes / 1024).toFixed(0)} KB | ` +
      `${median(second).toFixed(1)} | ${(secondBytes / 1024).toFixed(0)} KB |`,
  );
}

async function main(): Promise<void> {
  const watch = LoadWatch.start();
  console.log(`${watch.header()} (times taken at load >= 1 are provisional)`);
  const info = await initBackend({ quiet: true });
  console.log(`\nkernel side of a brush stroke (${info.name}${info.nativeConvolutions?.active ? ' + native' : ''}; median of ${STROKES} strokes)`);
  console.log('| model | showGradCam, ms | answer: new maps of every class, ms | size | + guided maps, ms from the stroke | size |');
  console.log('|---|---|---|---|---|---|');
  const cifar = await loadModel(SHIPPED_MODEL_DIR);
  const deer = (await readExamples()).find((e) => e.role === 'deer') as { pixels: Uint8Array };
  await measure('shipped CIFAR-10 CNN, 32x32, 10 classes', cifar, deer.pixels, 32);
  cifar.dispose();
  if (!fs.existsSync(KERAS_PYTHON)) {
    console.log(`(224x224 skipped: ${KERAS_PYTHON} is missing; make it with \`python/venv keras\`)`);
    console.log(watch.footer());
    return;
  }
  await withKerasMobileNet(async (dir) => {
    const mobilenet = await loadModel(path.join(dir, 'layers'));
    const img = await readImageForModel(path.join(ROOT, 'examples', 'cifar10', 'test-00505-deer.png'), 224, 224);
    await measure('MobileNetV2 (Keras), 224x224, 5 classes', mobilenet, img.pixels, 224);
    mobilenet.dispose();
  }, 1);
  console.log(watch.footer());
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
