/**
 * tfjs's errors while building a model from model.json, as one sentence that names the file,
 * the problem and the fix (tfjs's own are multi-line, or name internals).
 */
import { ModelFileError } from './errors';

const GRAPH_ADVICE = 'convert the model as a graph model instead (tensorflowjs_converter --output_format=tfjs_graph_model), which gradcam explain also takes';

function firstLine(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message.split('\n')[0].trim();
}

/** A layers model's load failure (`file` is its model.json). */
export function layersLoadError(err: unknown, file: string): Error {
  if (err instanceof ModelFileError) return err;
  const message = firstLine(err);
  const unknown = /^Unknown (layer|initializer|regularizer|constraint|activation|loss|metric|optimizer): ([^\s.]+)/.exec(message);
  if (unknown?.[1] === 'layer') {
    return new ModelFileError(
      `${file} uses the layer class '${unknown[2]}', which is not a built-in Keras layer: gradcam-ts can load only built-in Keras layers. ` +
        `Either ${GRAPH_ADVICE}, or register the class in your code with tf.serialization.registerClass before loading.`,
    );
  }
  if (unknown) {
    return new ModelFileError(
      `${file} uses the ${unknown[1]} '${unknown[2]}', which tfjs-layers does not have. Either ${GRAPH_ADVICE}, or register it in your code with tf.serialization.registerClass before loading.`,
    );
  }
  const unset = /^(\d+) of (\d+) weights are not set/.exec(message);
  if (unset) {
    return new ModelFileError(
      `${file}'s weightsManifest lacks ${unset[1]} of the ${unset[2]} weights its layers need: model.json and its weights do not match; re-download or re-export the model.`,
    );
  }
  const stray = /^Provided weight data has no target variable: (.*)$/.exec(message);
  if (stray) {
    return new ModelFileError(`${file}'s weightsManifest names weight '${stray[1]}', which no layer of the model has: model.json is damaged; re-download or re-export the model.`);
  }
  return new ModelFileError(
    `Cannot build the layers model in ${file} (tfjs says: ${message}). Check that it was written by gradcam train or tensorflowjs_converter (tfjs_layers_model), or re-export it.`,
  );
}

/** A graph model's load failure. */
export function graphLoadError(err: unknown, file: string): Error {
  if (err instanceof ModelFileError) return err;
  return new ModelFileError(
    `Cannot build the graph model in ${file} (tfjs says: ${firstLine(err)}). Check that it was written by tensorflowjs_converter --output_format=tfjs_graph_model, or re-export it.`,
  );
}
