/**
 * A layers model.json as tensorflowjs 1.x wrote it (nsfwjs 4 still ships its MobileNetV2 and
 * InceptionV3 so): no `format`, and the Keras topology wrapped as { keras_version, backend,
 * model_config }. `gradcam explain` took it for neither format; it loads as a layers model and
 * explains as the same model saved today.
 */
import { expect } from 'chai';
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend';
import { loadExplainableModel } from '../../src/cli/load';
import { main } from '../../src/cli/main';
import { modelFormatOf } from '../../src/model/graph-model-io';
import { saveModel } from '../../src/model/io';
import { writePng } from '../../src/render';
import { ModelCopies } from '../support/model-files-fixture';

describe('gradcam explain: a tensorflowjs 1.x layers model.json (no format, wrapped topology)', function () {
  this.timeout(120000);
  const copies = new ModelCopies();
  const modern = path.join(copies.root, 'modern');
  const image = path.join(copies.root, 'image.png');
  let legacy: string;
  before(async () => {
    await initBackend({ quiet: true });
    writePng(image, { width: 8, height: 8, data: Uint8ClampedArray.from({ length: 8 * 8 * 3 }, (_, i) => (i * 53) % 256) });
    const input = tf.input({ shape: [8, 8, 3] });
    const conv = tf.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', activation: 'relu', name: 'conv' }).apply(input) as tf.SymbolicTensor;
    const gap = tf.layers.globalAveragePooling2d({}).apply(conv) as tf.SymbolicTensor;
    const model = tf.model({ inputs: input, outputs: tf.layers.dense({ units: 3, activation: 'softmax', name: 'fc' }).apply(gap) as tf.SymbolicTensor });
    await saveModel(model, modern);
    model.dispose();
    legacy = copies.copy(modern);
    const file = path.join(legacy, 'model.json');
    const json = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown> & { modelTopology: Record<string, unknown> };
    const { class_name: className, config, ...rest } = json.modelTopology;
    delete json.format;
    json.modelTopology = { ...rest, keras_version: '2.2.4', backend: 'tensorflow', model_config: { class_name: className, config } };
    fs.writeFileSync(file, JSON.stringify(json));
  });
  after(() => copies.cleanup());

  it('is read as a layers model and predicts as the same model saved today', async () => {
    expect(modelFormatOf(legacy)).to.equal('layers-model');
    const [a, b] = [await loadExplainableModel(legacy), await loadExplainableModel(modern)];
    const x = tf.randomUniform([1, 8, 8, 3], 0, 255, 'float32', 3);
    const [pa, pb] = [a.model, b.model].map((m) => ((m as tf.LayersModel).predict(x) as tf.Tensor).dataSync());
    expect(Array.from(pa)).to.deep.equal(Array.from(pb));
    tf.dispose(x);
    a.model.dispose();
    b.model.dispose();
  });

  it('gradcam explain writes its figure', async () => {
    const out = path.join(copies.root, 'legacy.png');
    expect(await main(['explain', image, '--model', legacy, '--out', out])).to.equal(0);
    expect(fs.statSync(out).size).to.be.above(1000);
  });
});
