/** The Grad-CAM widget's public types: what showGradCam takes and what its events carry. */
import type { Explanation, Target } from '../cam';
import type { WidgetModel, WidgetOptions } from '../jupyter/widget';
import type { GradCamFrontEnd } from './front-end';
import type { ColormapName, GradCamState, MethodName } from '../shared/gradcam-schema';

export interface ShowGradCamOptions {
  /** Target conv layer; default: the last layer with a 4-D output. */
  layer?: string;
  classNames?: readonly string[];
  /**
   * What the class selector lists: these targets (targets.segmentation('road'), targets.regression(0),
   * targets.detection(), ...) instead of a classifier's classes. Default for a classifier: its classes;
   * for other outputs one target per label, value or segmentation class (up to maxClasses), the best
   * detection, or an embedding's similarity to itself. An edited image is scored on the targets its
   * unedited version resolved (the same class, mask, box or concept).
   */
  targets?: readonly Target[];
  /** One name per target for the selector (default: read from each target). */
  targetNames?: readonly string[];
  /** True class per image (marked in the class selector), -1 or omitted when unknown. */
  trueLabels?: ArrayLike<number>;
  /** Caption per image. */
  titles?: string[];
  /**
   * Methods to compute; Grad-CAM and Guided Grad-CAM always. The widget's toggle offers exactly
   * these. Score-CAM and Ablation-CAM cost K forward passes per image, and EigenCAM ignores the
   * class, so they are opt-in. Default: gradcam, guided-gradcam, counterfactual, gradcam++.
   */
  methods?: MethodName[];
  method?: MethodName;
  /**
   * For models with more classes than this, each image's this-many most probable classes get maps
   * (the class list still shows every probability). Default 10: CIFAR-10 gets all, an ImageNet
   * model its top 10 instead of 1000 maps per method.
   */
  maxClasses?: number;
  colormap?: ColormapName;
  opacity?: number;
  /**
   * Answer the widget's questions (occlusion brush, dropped images, layer selector). Default true;
   * false draws the explanations only.
   */
  interactive?: boolean;
  /** Create the widget without displaying it (e.g. to display it later or in another cell). */
  display?: boolean;
  /** Passed to the widget layer (tests give a runtime here). */
  widget?: WidgetOptions<WidgetModel<GradCamState, GradCamEvents>>;
  /**
   * What draws the widget: 'anywidget' (default; JupyterLab, Notebook 7, VS Code, Colab with anywidget)
   * or 'labextension' (our JupyterLab 4 extension). Default: $GRADCAM_WIDGET, else 'anywidget'.
   */
  frontEnd?: GradCamFrontEnd;
}

export const DEFAULT_METHODS: readonly MethodName[] = ['gradcam', 'guided-gradcam', 'counterfactual', 'gradcam++'];
export const DEFAULT_MAX_CLASSES = 10;

/** What `w.on('edit', e => ...)` hears after an image changed in the widget (or from kernel code). */
export interface GradCamEdit {
  /** 'edit': new pixels (the brush); 'reset': back to as given; 'add': a new image appended. */
  kind: 'edit' | 'reset' | 'add';
  image: number;
  /** A person in the widget, or kernel code (w.occlude, w.editImage, ...). */
  from: 'frontend' | 'kernel';
  pixels: Uint8Array;
  /**
   * The class the unedited image was predicted as (for a list of targets: the selected target),
   * and its probability (the target's value) before and after the edit.
   */
  originalClass: number;
  className: string;
  before: number;
  after: number;
  /** The class predicted now (-1 for a list of targets). */
  predicted: number;
  /** Grad-CAM of the image as it is now, every class. */
  explanation: Explanation;
}

export type GradCamEvents = { edit: [GradCamEdit] };

/** A rectangle of image pixels: x, y from the top left. */
export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}
