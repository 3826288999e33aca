/**
 * gradcam-ts: the public entry point (what notebooks and users import).
 * Kept small: a few functions with typed options; the rooms behind it are internal.
 */
export { initBackend, describeBackend } from './backend';
export type { BackendInfo, BackendName, InitBackendOptions } from './backend';
export { CLASS_NAMES, readSplit, readClassNames, imageAt, CorruptDataError } from './data/cifar10';
export { locateCifar10, ProgressBar } from './data';
export { shapesDataset, SHAPE_CLASS_NAMES } from './data/shapes';
export type { ShapesDataset, ShapeScene, ShapesOptions, PixelBox } from './data/shapes';
export type { ImageSet, Split } from './data/cifar10';
export { loadModel, saveModel, ModelNotFoundError, readModelMetadata } from './model/io';
export { loadGraphModelFromDir, modelFormatOf } from './model/graph-model-io';
export { SHIPPED_MODEL_DIR } from './model/shipped';
export { evaluateModel, formatEvaluation } from './model/evaluate';
export type { Evaluation } from './model/evaluate';
export { train, DEFAULT_TRAIN_OPTIONS } from './model/train';
export type { TrainOptions, BatchProgress, TrainResult } from './model/train';
export { foldToLayersModel } from './model/fold';
export { confusionMatrixPng } from './render/confusion';

import { initBackend } from './backend';
import { loadModel } from './model/io';
import { SHIPPED_MODEL_DIR } from './model/shipped';
import type { LayersModel } from '@tensorflow/tfjs';

/** The trained CIFAR-10 model shipped with the package (backend initialised first). */
export async function loadShippedModel(): Promise<LayersModel> {
  await initBackend();
  return loadModel(SHIPPED_MODEL_DIR);
}

export { explain, createCam, guidedBackprop, GradCAM, GradCAMPlusPlus, ScoreCAM, CounterfactualCAM, BaseCAM, candidateLayers } from './cam';
export type { Explanation, ImageExplanation, ClassExplanation, ExplainCallOptions, TargetSpec, CamMethodName } from './cam';
export { candidateNodes, toModelInput, INPUT_RANGES, GradientUnavailableError, targets, splitAt, adaptChannels, DEFAULT_DYNAMIC_SIZE, METHODS } from './cam';
export type { Target, OutputInfo, OutputKind, ModelSplit, TokenGrid, MethodInfo } from './cam';
export type { ExplainableModel, InputRange } from './cam';
export { HiResCAM, XGradCAM, LayerCAM, EigenCAM, AblationCAM, RandomCAM, CAM_METHODS, CAM_METHOD_LABELS } from './cam';
export {
  probabilityScorer, heatmapsOf, classesOf, deletionInsertion, road, confidenceChange, modelRandomisation, trustReport, trustMarkdown, trustCsv,
  spearman, ssim, baselineImages, noisyLinearImpute, copyModel, SANITY_THRESHOLD,
} from './metrics';
export type { Baseline, CurveResult, RoadResult, ConfidenceResult, RandomisationResult, TrustReport, MethodTrust, MetricInputs, ProbabilityScorer } from './metrics';
export { metricCurvesPng, randomisationFigurePng } from './render/trust';
export { gradientImage } from './render';
export type { GridCell } from './render';
export { trainingCurvesPng, imageGridPng, channelGridPng, barChartPng } from './render';
export { renderFigure, writeFigure, figureRows, predictedVersusTrueRows, applyColormap, overlay, heatmapImage, toRgbImage, encodePng, decodeImage, writePng } from './render';
export type { FigureRow, FigureOptions, ColormapName, RgbImage } from './render';
export { readExamples, EXAMPLES_DIR } from './render/examples';
export { readImageForModel } from './render/image-file';
export type { Example, ExampleEntry, ExampleRole } from './render/examples';

export { showGradCam, gradCamState, GradCamWidget, DEFAULT_METHODS } from './gradcam-widget';
export type { Box, GradCamEdit, GradCamFrontEnd, ShowGradCamOptions } from './gradcam-widget';
export type { GradCamState, ImageEntry, MethodName } from './shared/gradcam-schema';
export { WidgetModel, openComm, registerCommTarget, displayBundle, showPng, LiveDisplay } from './jupyter';
export type { WidgetSpec, WidgetOptions, ChangeInfo, MimeBundle } from './jupyter';
export { liveTrainingView } from './jupyter/training-view';
export type { TrainingView } from './jupyter/training-view';
