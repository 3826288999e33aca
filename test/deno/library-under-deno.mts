/**
 * Run by Deno (test/deno/library.test.ts spawns it): the built CommonJS package used as a Deno
 * user's code uses it. Prints one JSON line with what the test compares against Node: the backend,
 * the deer's prediction, its Grad-CAM heatmap (float32, base64) and the figure it wrote.
 * A .mts file so that tsc (which checks test/**\/*.ts for Node) leaves it to Deno.
 */
import * as g from '../../dist/index.js';

const out = Deno.args[0];
const info = await g.initBackend({ quiet: true });
const model = await g.loadShippedModel();
const examples = await g.readExamples();
const deer = examples.find((e) => e.role === 'deer');
if (!deer) throw new Error('no deer among the shipped examples');
const e = g.explain(model, [deer.pixels], { guided: true });
const row = e.images[0].classes[0];
const figure = `${out}/figure.png`;
g.writeFigure(figure, g.figureRows(e, [deer.pixels]));
const heatmap = new Uint8Array(row.heatmap.buffer, row.heatmap.byteOffset, row.heatmap.byteLength);
console.log(
  JSON.stringify({
    deno: Deno.version.deno,
    backend: info.name,
    native: info.nativeConvolutions ?? null,
    description: g.describeBackend(info),
    testIndex: deer.testIndex,
    predicted: e.images[0].predicted,
    className: row.className,
    probability: row.probability,
    heatmap: btoa(String.fromCharCode(...heatmap)),
    guidedLength: row.guided?.length ?? 0,
    figure,
  }),
);
