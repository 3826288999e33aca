/**
 * The image input the explanation commands need: one batch [N,H,W,C] of fixed size. Checked before
 * an image is read, so a model of another kind (a dense-only [N,20] one gave "undefinedx20 input
 * ... NaN") gets a sentence instead.
 */

/** A layers or a graph model, as far as its inputs go. */
export interface ModelWithInputs {
  inputs: readonly { shape?: readonly (number | null)[] }[];
}

/** [H, W, C] of the model's image input; `dir` names the model in the error. */
export function imageInputShape(model: ModelWithInputs, dir: string): [number, number, number] {
  if (model.inputs.length !== 1) {
    throw new Error(`The model in ${dir} has ${model.inputs.length} inputs; Grad-CAM here explains models with one image input [N,H,W,C].`);
  }
  const shape = model.inputs[0].shape ?? [];
  const [, h, w, c] = shape;
  const fixed = (d: number | null | undefined): d is number => typeof d === 'number' && d > 0;
  if (shape.length !== 4 || !fixed(h) || !fixed(w) || !fixed(c)) {
    const described = `[${shape.map((d, i) => (fixed(d) ? d : i === 0 ? 'N' : '?')).join(',')}]`;
    throw new Error(
      `The model in ${dir} takes input ${described}, not images [N,H,W,C] of a fixed size. Grad-CAM explains an image model ` +
        'through a layer with a spatial map [N,h,w,K] (a convolution); this model has none to explain. Give an image model.',
    );
  }
  return [h, w, c];
}
