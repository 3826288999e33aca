/**
 * The widget with any output (issue 21, part 5), on Keras-built, tensorflowjs-converted models: a
 * segmenter trained on discs and squares (graph format), a regressor and a raw detector (layers
 * format). Its selector lists targets instead of classes; each target's value stands where a
 * probability would, equal to explain()'s; an occluded image is scored on the targets its unedited
 * version resolved (the same mask, the same box), checked against explain() with those targets
 * written out and against the model's own output.
 */
import { expect } from 'chai';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend';
import { KernelRuntime } from '../../src/jupyter/runtime';
import { showGradCam } from '../../src/gradcam-widget';
import { explain, targets } from '../../src/cam';
import type { ExplainableModel } from '../../src/cam';
import { loadExplainableModel } from '../../src/cli/load';
import type { GradCamState } from '../../src/shared/gradcam-schema';
import { Recorder } from '../support/comm-recorder';
import { rejection } from '../support/setup';
import { maxAbs } from '../support/cam-fixtures';
import { KERAS_TARGET_FIXTURES, readTargetFixture } from '../support/keras-target-fixture';

const load = async (name: string, format: 'layers' | 'graph'): Promise<ExplainableModel> => (await loadExplainableModel(path.join(KERAS_TARGET_FIXTURES, name, format))).model;

describe('the widget with any output: a list of targets (Keras-converted models)', function () {
  this.timeout(120_000);
  let runtime: KernelRuntime;
  before(() => initBackend({ quiet: true }));
  beforeEach(() => {
    runtime = new KernelRuntime(new Recorder());
  });

  it("a segmenter lists its classes' pixels, valued by their mean probability, maps equal to explain()'s; a brush keeps the unedited mask", async () => {
    const fixture = readTargetFixture('segmentation');
    const model = await load('segmentation', 'graph');
    const images = [fixture.image(0), fixture.image(1)];
    const before = tf.memory().numTensors;
    const w = await showGradCam(model, images, { classNames: fixture.classNames ?? undefined, widget: { runtime } });
    const state = w.state as GradCamState;
    expect(state.class_names).to.deep.equal(['background pixels', 'disc pixels', 'square pixels']);
    expect(state.target_values).to.deep.equal(['probability', 'probability', 'probability']);
    expect(state.layers.length, 'graph nodes offered by the layer menu').to.be.greaterThan(1);
    const e = explain(model, images, { target: 'all', classNames: fixture.classNames ?? undefined, layer: state.layer });
    images.forEach((_, i) => {
      const probs = state.images[i].probs as Float32Array;
      e.images[i].classes.forEach((c, j) => expect(probs[j], `image ${i}, target ${j}`).to.be.closeTo(c.probability, 1e-6));
      expect(state.selected_class[i], 'the most probable target is selected').to.equal(probs.indexOf(Math.max(...probs)));
      expect(maxAbs(w.explanation(i).images[0].classes[1].heatmap, e.images[i].classes[1].heatmap)).to.be.below(1e-6);
    });
    // Cover the middle; the selected class is scored over the mask the unedited image predicted.
    const c = state.selected_class[0];
    const unedited = e.images[0].classes[c];
    const edit = await w.occlude(0, { x: 8, y: 8, width: 16, height: 16 });
    expect(edit.originalClass).to.equal(c);
    expect(edit.predicted).to.equal(-1);
    expect(edit.before).to.be.closeTo(unedited.probability, 1e-6);
    const mask = unedited.region?.mask?.data as Float32Array;
    const same = explain(model, [edit.pixels], { target: targets.segmentation(c, { mask }), layer: state.layer }).images[0].classes[0];
    expect(edit.after).to.be.closeTo(same.probability, 1e-6);
    expect(maxAbs(edit.explanation.images[0].classes[c].heatmap, same.heatmap)).to.be.below(1e-6);
    expect(w.get('images')[0].original_probs as Float32Array).to.deep.equal(state.images[0].probs);
    w.close();
    expect(tf.memory().numTensors - before, 'tensors left by the widget').to.be.at.most(0);
    model.dispose();
  });

  it('a regressor with chosen targets: raise and lower, valued by the model output itself; an edit reports it before and after', async () => {
    const fixture = readTargetFixture('regression_cnn');
    const model = (await load('regression_cnn', 'layers')) as tf.LayersModel;
    const img = fixture.image(0);
    const w = await showGradCam(model, [img], { targets: [targets.regression(0), targets.regression(0, { lower: true })], targetNames: ['age', 'younger'], widget: { runtime } });
    const state = w.state as GradCamState;
    expect(state.class_names).to.deep.equal(['age', 'younger']);
    expect(state.target_values).to.deep.equal(['value', 'value']);
    expect(state.selected_class).to.deep.equal([0]);
    const predictOf = (px: Uint8Array): number => tf.tidy(() => (model.predict(tf.tensor4d(Float32Array.from(px), [1, ...fixture.inputShape])) as tf.Tensor).dataSync()[0]);
    const y = predictOf(img);
    const probs = state.images[0].probs as Float32Array;
    const logits = state.images[0].logits as Float32Array;
    expect(probs[0]).to.be.closeTo(y, 1e-4);
    expect(probs[1]).to.be.closeTo(y, 1e-4);
    expect(logits[1]).to.be.closeTo(-y, 1e-4);
    const edit = await w.occlude(0, { x: 0, y: 0, width: 16, height: 32 });
    expect(edit.className).to.equal('age');
    expect(edit.before).to.be.closeTo(y, 1e-4);
    expect(edit.after).to.be.closeTo(predictOf(edit.pixels), 1e-4);
    expect(edit.after).to.not.be.closeTo(edit.before, 1e-6);
    w.close();
    model.dispose();
  });

  it("a raw detector lists its best box; the edited image is scored at the unedited image's anchor and class", async () => {
    const fixture = readTargetFixture('detector');
    const model = await load('detector', 'layers');
    const img = fixture.image(0);
    const w = await showGradCam(model, [img], { widget: { runtime } });
    const state = w.state as GradCamState;
    expect(state.class_names).to.deep.equal(['best detection']);
    const first = w.explanation(0).images[0].classes[0];
    expect(first.resolved).to.include({ kind: 'detection' });
    const { anchor, class: k } = first.resolved as { anchor: number; class: number };
    expect(anchor).to.be.a('number');
    const edit = await w.occlude(0, { x: 0, y: 0, width: 32, height: 12 });
    const same = explain(model, [edit.pixels], { target: targets.detection({ anchor, class: k }) }).images[0].classes[0];
    expect(edit.after).to.be.closeTo(same.probability, 1e-6);
    expect(w.explanation(0).images[0].classes[0].target).to.match(new RegExp(`^box ${anchor}: `));
    w.close();
    model.dispose();
  });

  it('refuses a list that is not targets, or names that do not match, saying what to pass', async () => {
    const model = await load('regression_cnn', 'layers');
    const img = readTargetFixture('regression_cnn').image(0);
    expect((await rejection(showGradCam(model, [img], { targets: [], widget: { runtime } }))).message).to.match(/non-empty list of targets/);
    expect((await rejection(showGradCam(model, [img], { targets: [3 as unknown as never], widget: { runtime } }))).message).to.match(/targets\[0\] is 3, not a target; build each with targets\.\*/);
    expect((await rejection(showGradCam(model, [img], { targets: [targets.regression(0)], targetNames: ['a', 'b'], widget: { runtime } }))).message).to.match(/2 targetNames for 1 targets/);
    model.dispose();
  });
});
