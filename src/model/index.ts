/** Models: the CIFAR-10 network, training and evaluation, and loading and saving layers and graph models. */
export { loadModel, saveModel, readModelMetadata, resolveModelJson } from './io';
export { ModelFileError, ModelNotFoundError } from './errors';
export { loadGraphModelFromDir, modelFormatOf } from './graph-model-io';
export type { ModelFormat } from './graph-model-io';
export { SHIPPED_MODEL_DIR, SHIPPED_CHECKPOINT_DIR, SHIPPED_MODELS_ROOT, assertNotShippedModelDir, isInShippedModels, ShippedModelReadOnlyError } from './shipped';
export { evaluateModel, formatEvaluation } from './evaluate';
export type { Evaluation } from './evaluate';
export { train, DEFAULT_TRAIN_OPTIONS } from './train';
export type { TrainOptions, BatchProgress, TrainResult } from './train';
export { foldToLayersModel } from './fold';
export { CIFAR10_ARCHITECTURE, initNetwork, forward } from './network';
export type { ArchitectureSpec, NetworkParams } from './network';
export { saveCheckpoint, loadCheckpoint, hasCheckpoint } from './checkpoint';
export type { CheckpointState, EpochRecord } from './checkpoint';
export { InferencePool } from './inference-pool';
