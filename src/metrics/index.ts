/**
 * Can we trust the map? Faithfulness and sanity checks over explanations: tensors in, numbers
 * out. May import cam (to re-explain) and model; cam never imports this room.
 */
export { probabilityScorer, pickClasses, SCORER_BATCH } from './scorer';
export type { ProbabilityScorer } from './scorer';
export { heatmapsOf, classesOf, checkInputs } from './inputs';
export type { MetricInputs } from './inputs';
export { baselineImages, gaussianBlur, DEFAULT_BLUR } from './baselines';
export type { Baseline } from './baselines';
export { deletionInsertion, trapezoidAuc } from './deletion-insertion';
export type { CurveMode, CurveResult, DeletionInsertionOptions } from './deletion-insertion';
export { noisyLinearImpute, NEIGHBOUR_WEIGHTS } from './imputation';
export { road, roadRemoved, percentile, ROAD_PERCENTILES } from './road';
export type { RoadOptions, RoadResult } from './road';
export { confidenceChange } from './confidence';
export type { ConfidenceResult } from './confidence';
export { spearman, ssim } from './similarity';
export { relevanceRanks, averageRanks } from './ranking';
export { modelRandomisation, copyModel, SANITY_THRESHOLD } from './randomisation';
export type { RandomisationMode, RandomisationOptions, RandomisationResult, RandomisationStep } from './randomisation';
export { trustReport, trustMarkdown, trustCsv } from './report';
export type { TrustOptions, TrustReport, MethodTrust } from './report';
