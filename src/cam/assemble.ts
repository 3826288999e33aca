/**
 * Step 5: the Explanation, plain typed arrays cut per image and per row from one read of each
 * tensor (every tensor is disposed by the caller's tidy).
 */
import { argmax } from '../shared/arrays';
import type { CamMethodName } from '../shared/methods';
import type { RowTarget } from './row-targets';
import { outputSize } from './outputs';
import type { ModelSplit } from './split-types';
import type { ClassExplanation, Explanation, ImageExplanation } from './types';

/** What one method produced for every row, read out of its tensors. */
export interface MethodArrays {
  method: CamMethodName;
  /** [R,K] */
  weights: Float32Array;
  /** [R,h,w] after the ReLU. */
  maps: Float32Array;
  /** [R,H,W] in [0,1]. */
  heatmaps: Float32Array;
  /** [R,H,W,C] guided backprop x heatmap (with guided). */
  guidedGradCam?: Float32Array;
}

/** What every method shares: the pass's values, read once. */
export interface PassArrays {
  rowImage: Int32Array;
  /** Each row's resolved target and its score. */
  targets: readonly RowTarget[];
  targetScores: Float32Array;
  /** [R, output size]: the output before its activation, and after it (softmax for class scores). */
  logits: Float32Array;
  probabilities: Float32Array;
  /** [N,h,w,K] */
  activations: Float32Array;
  /** [R,H,W,C] (with guided). */
  guided?: Float32Array;
}

export function assembleExplanation(split: ModelSplit, pass: PassArrays, out: MethodArrays, classNames: readonly string[] | undefined): Explanation {
  const D = outputSize(split.output);
  const vector = split.output.shape.length === 1;
  const [H, W, C] = split.inputShape;
  const [h, w, K] = split.layerShape;
  const hw = h * w;
  const HW = H * W;
  const images: ImageExplanation[] = [];
  for (let r = 0; r < pass.rowImage.length; r++) {
    const i = pass.rowImage[r];
    if (!images[i]) {
      const logits = pass.logits.slice(r * D, (r + 1) * D);
      images[i] = {
        logits,
        probabilities: pass.probabilities.slice(r * D, (r + 1) * D),
        predicted: vector ? argmax(logits) : -1,
        activations: pass.activations.slice(i * hw * K, (i + 1) * hw * K),
        classes: [],
      };
    }
    const t = pass.targets[r];
    const c = t.classIndex;
    const entry: ClassExplanation = {
      classIndex: c,
      className: c >= 0 ? classNames?.[c] : undefined,
      target: t.label,
      ...(t.region ? { region: t.region } : {}),
      score: pass.targetScores[r],
      probability: t.probability,
      resolved: t.resolved,
      weights: out.weights.slice(r * K, (r + 1) * K),
      map: out.maps.slice(r * hw, (r + 1) * hw),
      heatmap: out.heatmaps.slice(r * HW, (r + 1) * HW),
    };
    if (pass.guided && out.guidedGradCam) {
      entry.guided = pass.guided.slice(r * HW * C, (r + 1) * HW * C);
      entry.guidedGradCam = out.guidedGradCam.slice(r * HW * C, (r + 1) * HW * C);
    }
    images[i].classes.push(entry);
  }
  return {
    method: out.method,
    layer: split.layerName,
    scoreSource: split.scoreSource,
    inputShape: split.inputShape,
    layerShape: split.layerShape,
    output: split.output,
    classNames,
    images,
  };
}
