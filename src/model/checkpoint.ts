/**
 * Training checkpoints: every variable (weights, BN running statistics, optimiser velocities)
 * plus the loop's position and history, as checkpoint.json + checkpoint.bin, each written
 * atomically so a run killed mid-write leaves the previous checkpoint intact.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { writeFileAtomic } from '../util/atomic-write';
// Checkpoints name variables without the per-process prefix, so any run can resume any other.
import { localName } from './network';

export interface EpochRecord {
  epoch: number;
  trainLoss: number;
  trainAccuracy: number;
  testAccuracy: number;
  seconds: number;
  imagesPerSecond: number;
}

export interface CheckpointState {
  /** Epochs completed. */
  epoch: number;
  totalEpochs: number;
  batchSize: number;
  peakLearningRate: number;
  seed: number;
  backend: string;
  history: EpochRecord[];
}

interface TensorEntry {
  name: string;
  shape: number[];
  offset: number; // in float32 elements
}

export function checkpointFiles(dir: string): { json: string; bin: string } {
  return { json: path.join(dir, 'checkpoint.json'), bin: path.join(dir, 'checkpoint.bin') };
}

export function saveCheckpoint(dir: string, state: CheckpointState, tensors: tf.Variable[]): void {
  const entries: TensorEntry[] = [];
  let total = 0;
  for (const t of tensors) {
    entries.push({ name: localName(t), shape: t.shape, offset: total });
    total += t.size;
  }
  const data = new Float32Array(total);
  tensors.forEach((t, i) => data.set(t.dataSync() as Float32Array, entries[i].offset));
  const files = checkpointFiles(dir);
  // The binary goes first; the JSON (which names its length) is the commit point.
  writeFileAtomic(files.bin, new Uint8Array(data.buffer));
  writeFileAtomic(files.json, JSON.stringify({ state, tensors: entries, elements: total }, null, 1));
}

export function hasCheckpoint(dir: string): boolean {
  return fs.existsSync(checkpointFiles(dir).json);
}

/** Restores tensors by name into `tensors`; returns the loop state. */
export function loadCheckpoint(dir: string, tensors: tf.Variable[]): CheckpointState {
  const files = checkpointFiles(dir);
  if (!fs.existsSync(files.json)) throw new Error(`No checkpoint in ${dir}: train without --resume first.`);
  const meta = JSON.parse(fs.readFileSync(files.json, 'utf8')) as { state: CheckpointState; tensors: TensorEntry[]; elements: number };
  const raw = fs.readFileSync(files.bin);
  if (raw.byteLength !== meta.elements * 4) {
    throw new Error(`${files.bin} has ${raw.byteLength} bytes, expected ${meta.elements * 4}: the checkpoint is damaged; delete ${dir} to start over.`);
  }
  const data = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
  const byName = new Map(meta.tensors.map((e) => [e.name, e]));
  for (const t of tensors) {
    const entry = byName.get(localName(t));
    if (!entry || entry.shape.join('x') !== t.shape.join('x')) {
      throw new Error(`Checkpoint in ${dir} does not match this network (variable ${localName(t)} ${entry ? `has shape ${entry.shape}` : 'is missing'}).`);
    }
    tf.tidy(() => t.assign(tf.tensor(data.subarray(entry.offset, entry.offset + t.size), t.shape)));
  }
  return meta.state;
}
