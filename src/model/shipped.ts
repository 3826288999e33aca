import * as path from 'path';

/** The trained CIFAR-10 model committed with the package (same path from src/ and dist/). */
export const SHIPPED_MODEL_DIR = path.resolve(__dirname, '../../models/cifar10');
/** Where `gradcam train` keeps its resumable checkpoint for the shipped model. */
export const SHIPPED_CHECKPOINT_DIR = path.resolve(__dirname, '../../models/checkpoints/cifar10');
