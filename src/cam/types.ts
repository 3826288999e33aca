/** What an explanation returns: plain typed arrays (every tensor is disposed before return). */
import type { CamMethodName } from '../shared/methods';
import type { OutputInfo } from './outputs';
import type { TargetRegion } from './row-targets';
import type { Target } from './target-values';
import type { ScoreSource } from './split-types';

export type { CamMethodName };

/** One explained target of one image (a class, for a classifier). */
export interface ClassExplanation {
  /** The target's class, or -1 when it is not one class (a regression value, an embedding...). */
  classIndex: number;
  className?: string;
  /** What was explained, in words: 'deer', 'label 3 (against)', 'road over 1204 px', 'box 17: car [...]'. */
  target: string;
  /** The differentiated score y (a class's pre-softmax score by default) and the activated value: its probability for a classifier. */
  score: number;
  probability: number;
  /** The target with this image's choices fixed (its class, mask, box or concept): the same target on other pixels. */
  resolved: Target;
  /** Where the target lies, when it is a place: a segmentation mask, a detection's box. */
  region?: TargetRegion;
  /** Channel weights alpha_k^c, length K. */
  weights: Float32Array;
  /** L^c = ReLU(sum_k alpha_k A^k) at layer resolution [h,w], unnormalised. */
  map: Float32Array;
  /** L^c upsampled bilinearly to the input size [H,W] and scaled to [0,1] (zeros if L^c is zero). */
  heatmap: Float32Array;
  /** Guided backprop for this class, d y^c / d input with guided ReLUs, [H,W,C] (if requested). */
  guided?: Float32Array;
  /** Guided Grad-CAM: guided x heatmap, [H,W,C] (if requested). */
  guidedGradCam?: Float32Array;
}

export interface ImageExplanation {
  /** The explained output before its activation, flattened, and after it (softmax for class scores). */
  logits: Float32Array;
  probabilities: Float32Array;
  /** The top class of a vector output; -1 for maps and detections. */
  predicted: number;
  /** The target layer's activations A for this image, [h,w,K] in HWC order. */
  activations: Float32Array;
  /** One entry per explained class (one, or all classes for target 'all'). */
  classes: ClassExplanation[];
}

export interface Explanation {
  method: CamMethodName;
  layer: string;
  scoreSource: ScoreSource;
  /** [H,W,C] of the input, [h,w,K] of the layer. */
  inputShape: [number, number, number];
  layerShape: [number, number, number];
  /** The explained output: name, shape, removed activation and kind. */
  output: OutputInfo;
  classNames?: readonly string[];
  images: ImageExplanation[];
}
