/**
 * gradcam-ts against Keras itself. python/keras_fixtures.py built each model in Keras (tf-keras),
 * converted it with tensorflowjs, and computed the reference Grad-CAM and guided backprop in
 * Keras with tf.GradientTape; here the converted models are explained by gradcam-ts with its
 * defaults (target layer, pre-softmax scores, input range from the fixture) and compared.
 */
import { expect } from 'chai';
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend';
import { explain } from '../../src/cam';
import { checkInputRange, toModelInput } from '../../src/cam/input';
import { loadExplainableModel, loadModelWithClasses } from '../../src/cli/load';
import { candidateNodes, ExplainableModel, Explanation, GradientUnavailableError } from '../../src/cam';
import { cosine, KerasReference, kerasFixtureNames, readKerasReference, relativeError } from '../support/keras-fixture';

const TOLERANCE = 1e-4;
const GUIDED_COSINE = 0.999;

describe('cam: Keras references (converted layers models)', function () {
  this.timeout(600000);
  before(() => initBackend({ quiet: true }));
  const names = kerasFixtureNames();

  it('has the fixtures: five Keras applications and the CIFAR-10 CNN', () => {
    expect(names).to.include.members(['mobilenet_v2', 'resnet50', 'inception_v3', 'densenet121', 'efficientnet_b0', 'cifar10_cnn']);
  });

  for (const name of names) {
    describe(name, () => {
      let ref: KerasReference;
      let model: tf.LayersModel;
      let classNames: string[];
      before(async () => {
        ref = readKerasReference(name);
        ({ model, classNames } = await loadModelWithClasses(`${ref.dir}/layers`));
      });
      after(() => model?.dispose());
      checks(() => ({ ref, model, classNames }), 'layer');
    });
  }
});

describe('cam: Keras references (converted graph models, tf.loadGraphModel)', function () {
  this.timeout(600000);
  before(() => initBackend({ quiet: true }));
  for (const name of kerasFixtureNames()) {
    describe(name, () => {
      let ref: KerasReference;
      let model: ExplainableModel;
      let classNames: string[];
      const info = readKerasReference(name);
      if (info.graphConversionError) {
        it(`has no graph model: tensorflowjs could not convert it (${info.graphConversionError.slice(0, 80)})`, () => {
          expect(fs.existsSync(path.join(info.dir, 'graph'))).to.equal(false);
        });
        return;
      }
      before(async () => {
        ref = info;
        const loaded = await loadExplainableModel(`${ref.dir}/graph`);
        expect(loaded.format).to.equal('graph-model');
        ({ model, classNames } = loaded);
      });
      after(() => model?.dispose());
      checks(() => ({ ref, model, classNames }), 'node');
    });
  }
});

/** The same checks for either format: defaults, numbers against Keras, guided, memory. */
function checks(get: () => { ref: KerasReference; model: ExplainableModel; classNames: string[] }, what: 'layer' | 'node'): void {
  let ref: KerasReference;
  let model: ExplainableModel;
  let classNames: string[];
  before(() => ({ ref, model, classNames } = get()));

  it(`picks the spatial ${what} Keras explains by default, and the model's class names`, () => {
    const x = toModelInput([imageOf(ref, 0)], ref.inputShape, checkInputRange(ref.inputRange));
    const e = explain(model, x, { classNames });
    x.dispose();
    // A graph node is named after its layer's op (a Dropout has none left); its values are
    // checked against Keras's A below.
    if (what === 'layer') expect(e.layer).to.equal(ref.layer);
    else if (ref.graphNodes?.length) expect(ref.graphNodes).to.include(e.layer);
    expect(e.layerShape).to.deep.equal(ref.layerShape);
    expect(e.layerShape[0] * e.layerShape[1]).to.be.above(1);
    expect(e.classNames).to.deep.equal(ref.classNames);
  });

  for (const inner of [false, true]) {
    it(`matches Keras's scores, alpha_k^c and maps for every class at the ${inner ? 'inner' : 'default'} ${what} (relative error < ${TOLERANCE})`, () => {
      const x = toModelInput(Array.from({ length: ref.predicted.length }, (_, i) => imageOf(ref, i)), ref.inputShape, checkInputRange(ref.inputRange));
      const layer = inner ? innerTarget(model, ref, what) : undefined;
      let e: Explanation;
      try {
        e = explain(model, x, { target: 'all', layer });
      } catch (err) {
        expectMissingKernel(err, what); // a depthwise filter gradient between the node and the scores
        return;
      } finally {
        x.dispose();
      }
      const [alphas, maps, activations] = inner ? [ref.innerAlphas, ref.innerMaps, ref.innerActivations] : [ref.alphas, ref.maps, ref.activations];
      const classes = ref.classNames.length;
      const [h, w, K] = inner ? ref.innerLayerShape : ref.layerShape;
      expect(e.layerShape).to.deep.equal([h, w, K]);
      e.images.forEach((im, i) => {
        expect(relativeError(im.logits, ref.logits.subarray(i * classes, (i + 1) * classes))).to.be.below(TOLERANCE);
        expect(relativeError(im.activations, activations.subarray(i * h * w * K, (i + 1) * h * w * K))).to.be.below(TOLERANCE);
        expect(im.predicted).to.equal(ref.predicted[i]);
        for (const cl of im.classes) {
          const at = i * classes + cl.classIndex;
          expect(relativeError(cl.weights, alphas.subarray(at * K, (at + 1) * K)), `alphas of class ${cl.classIndex}`).to.be.below(TOLERANCE);
          // L = ReLU(sum_k alpha_k A^k) often nearly cancels, so its error is measured against the
          // size of the terms it sums, max over positions of sum_k |alpha_k A^k| (Keras's numbers).
          const scale = termScale(alphas.subarray(at * K, (at + 1) * K), activations.subarray(i * h * w * K, (i + 1) * h * w * K), K);
          expect(maxAbsDiff(cl.map, maps.subarray(at * h * w, (at + 1) * h * w)) / scale, `map of class ${cl.classIndex}`).to.be.below(TOLERANCE);
        }
      });
    });
  }

  it(`matches Keras's guided backprop of the predicted class (cosine > ${GUIDED_COSINE}), or says which kernel is missing`, () => {
    const size = ref.inputShape.reduce((a, b) => a * b);
    ref.predicted.forEach((p, i) => {
      const x = toModelInput([imageOf(ref, i)], ref.inputShape, checkInputRange(ref.inputRange));
      try {
        const e = explain(model, x, { target: p, guided: true });
        const guided = e.images[0].classes[0].guided as Float32Array;
        expect(cosine(guided, ref.guided.subarray(i * size, (i + 1) * size))).to.be.above(GUIDED_COSINE);
      } catch (err) {
        expectMissingKernel(err, what);
      } finally {
        x.dispose();
      }
    });
  });

  it('leaves no tensors behind (also when guided backprop fails)', () => {
    const x = toModelInput([imageOf(ref, 0)], ref.inputShape, checkInputRange(ref.inputRange));
    const run = (): void => {
      try {
        explain(model, x, { target: 'all', guided: true });
      } catch (err) {
        expectMissingKernel(err, what);
        explain(model, x, { target: 'all' });
      }
    };
    run();
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) run();
    expect(tf.memory().numTensors).to.equal(before);
    x.dispose();
  });
}

/** The inner layer by name (layers model), or the deepest graph node named after it (graph model). */
function innerTarget(model: ExplainableModel, ref: KerasReference, what: 'layer' | 'node'): string {
  if (what === 'layer') return ref.innerLayer;
  const node = candidateNodes(model as tf.GraphModel).find((n) => n.name.includes(`/${ref.innerLayer}/`));
  expect(node, `a graph node of layer ${ref.innerLayer}`).to.not.equal(undefined);
  return (node as { name: string }).name;
}

/**
 * The one accepted way for a graph model to fail: a gradient kernel the backend does not have
 * (tfjs's fused depthwise op, which the converter makes of EfficientNet's depthwise conv + batch
 * norm, always computes its filter gradient too, and tfjs-wasm has no
 * DepthwiseConv2dNativeBackpropFilter), reported as a GradientUnavailableError that names the
 * kernel and the fix, never as a raw error. A layers model must never fail.
 */
function expectMissingKernel(err: unknown, what: 'layer' | 'node'): void {
  expect(what, `guided backprop failed on a layers model: ${(err as Error).message}`).to.equal('node');
  expect(err).to.be.instanceOf(GradientUnavailableError);
  const kernel = /Kernel '(\w+)' not registered for backend '(\w+)'/.exec((err as Error).message);
  expect(kernel, (err as Error).message).to.not.equal(null);
  expect(tf.getKernel((kernel as RegExpExecArray)[1], (kernel as RegExpExecArray)[2])).to.equal(undefined);
  expect((err as Error).message).to.match(/explain without guided backprop|choose a node nearer the scores|use a backend that has DepthwiseConv2dNativeBackpropFilter: GRADCAM_BACKEND=cpu/);
}

/** max over positions of sum_k |alpha_k A^k|: the scale of the terms a Grad-CAM map sums. */
function termScale(alphas: Float32Array, activations: Float32Array, K: number): number {
  let scale = 0;
  for (let p = 0; p < activations.length / K; p++) {
    let s = 0;
    for (let k = 0; k < K; k++) s += Math.abs(alphas[k] * activations[p * K + k]);
    scale = Math.max(scale, s);
  }
  return scale;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

function imageOf(ref: KerasReference, i: number): Uint8Array {
  const size = ref.inputShape.reduce((a, b) => a * b);
  return ref.pixels.subarray(i * size, (i + 1) * size);
}
