/**
 * What a model's output is, read from the model: its activation (softmax, sigmoid or none), its
 * shape without the batch, and the kind of task that shape and activation imply. Each kind has a
 * default target (targets.ts); the engine always scores the values before the activation.
 */

export type OutputActivation = 'softmax' | 'sigmoid' | 'linear';

/**
 * classes: [C] one label per image (softmax, or C > 1 raw scores: class logits);
 * labels: [C] independent sigmoid labels (multi-label, or a binary classifier with C = 1);
 * regression: [1] (or [D] named so) raw values;
 * map: [H,W,C] per-pixel classes (segmentation);
 * detections: [anchors, F] raw boxes and scores of a single-shot detector, before NMS;
 * embedding: [D] a vector compared by cosine similarity.
 */
export type OutputKind = 'classes' | 'labels' | 'regression' | 'map' | 'detections' | 'embedding';

export interface OutputInfo {
  /** The output's name (layer or graph node, or the signature key). */
  name: string;
  /** Shape of one image's output, without the batch dimension. */
  shape: number[];
  /** The activation the model applies, left out when scoring. */
  activation: OutputActivation;
  kind: OutputKind;
}

/** Fewest values a raw detection row holds: a box (4) and a score. */
const MIN_DETECTION_ROW = 5;

/**
 * The shape an output is scored as: leading size-1 axes dropped ([1,1,C] from a 1x1 convolution
 * head is a vector of C; [1,17,3] is 17 rows), and rows too short to hold a box and a score
 * ([anchors,1] per-anchor scores, [17,3] keypoints) flattened to one vector.
 */
export function scoredShapeOf(shape: readonly number[]): number[] {
  let view = [...shape];
  while (view.length > 1 && view[0] === 1) view = view.slice(1);
  if (view.length === 2 && view[1] < MIN_DETECTION_ROW) view = [view[0] * view[1]];
  return view;
}

/** The kind an output's shape, activation and name suggest (a target can always say otherwise). */
export function outputKind(shape: readonly number[], activation: OutputActivation, name: string): OutputKind {
  if (shape.length === 3) return 'map';
  if (shape.length === 2) return 'detections';
  if (shape.length !== 1) {
    throw new Error(
      `Output '${name}' has shape [N,${shape.join(',')}]; gradcam-ts explains outputs shaped [N,C] (classes, labels, values, embeddings), ` +
        `[N,H,W,C] (segmentation maps) or [N,anchors,F] (raw detections). Choose another output (options.output / --output).`,
    );
  }
  if (activation === 'sigmoid') return 'labels';
  if (activation === 'softmax') return 'classes';
  if (/embed|feature|descriptor/i.test(name)) return 'embedding';
  if (/regress/i.test(name) || shape[0] === 1) return 'regression';
  return 'classes';
}

/** How an output's kind reads in a sentence. */
export const KIND_DESCRIPTIONS: Readonly<Record<OutputKind, string>> = {
  classes: 'class scores',
  labels: 'sigmoid labels',
  regression: 'regression values',
  map: 'a segmentation map',
  detections: 'raw detections',
  embedding: 'an embedding',
};

/** The size of one image's output, all dimensions multiplied. */
export function outputSize(info: OutputInfo): number {
  return info.shape.reduce((a, b) => a * b, 1);
}

/**
 * How many classes an output's targets name: the last axis of class scores, labels and maps; a raw
 * detection row's values after its 4 box values (the default layout); none for values and embeddings.
 */
export function classCountOf(info: OutputInfo): number {
  const last = info.shape[info.shape.length - 1];
  if (info.kind === 'classes' || info.kind === 'labels' || info.kind === 'map') return last;
  if (info.kind === 'detections') return Math.max(0, last - 4);
  return 0;
}
