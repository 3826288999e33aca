/** RGB pictures as plain arrays: conversion, heatmap overlay, guided-backprop display scaling. */
import { applyColormap, ColormapName } from '../shared/colormap';

/** An 8-bit RGB image, HWC, 3 bytes per pixel. */
export interface RgbImage {
  width: number;
  height: number;
  data: Uint8ClampedArray;
}

/** HWC pixels 0-255 (RGB, or grey with channels = 1) as an RgbImage. */
export function toRgbImage(pixels: ArrayLike<number>, width: number, height: number, channels = 3): RgbImage {
  if (pixels.length !== width * height * channels) {
    throw new Error(`Expected ${width}*${height}*${channels} = ${width * height * channels} values, got ${pixels.length}.`);
  }
  const data = new Uint8ClampedArray(width * height * 3);
  for (let p = 0; p < width * height; p++) {
    for (let c = 0; c < 3; c++) data[3 * p + c] = pixels[p * channels + (channels === 1 ? 0 : c)];
  }
  return { width, height, data };
}

/** A heatmap in [0,1] coloured with a colormap. */
export function heatmapImage(heatmap: ArrayLike<number>, width: number, height: number, colormap: ColormapName = 'jet'): RgbImage {
  if (heatmap.length !== width * height) throw new Error(`Heatmap has ${heatmap.length} values, expected ${width}x${height}.`);
  return { width, height, data: applyColormap(heatmap, colormap) };
}

/** (1 - opacity) * image + opacity * coloured heatmap, per pixel. */
export function overlay(image: RgbImage, heat: RgbImage, opacity = 0.5): RgbImage {
  if (image.width !== heat.width || image.height !== heat.height) {
    throw new Error(`overlay: image is ${image.width}x${image.height}, heatmap ${heat.width}x${heat.height}; resize one first.`);
  }
  if (!(opacity >= 0 && opacity <= 1)) throw new RangeError(`overlay opacity ${opacity} must be within [0, 1].`);
  const data = new Uint8ClampedArray(image.data.length);
  for (let i = 0; i < data.length; i++) data[i] = Math.round((1 - opacity) * image.data[i] + opacity * heat.data[i]);
  return { width: image.width, height: image.height, data };
}

/**
 * Guided backprop / Guided Grad-CAM gradients for display, as in the Grad-CAM authors' code:
 * standardise, scale to std 0.1 around mid-grey, clip. A constant input becomes plain grey.
 */
export function gradientImage(gradient: ArrayLike<number>, width: number, height: number, channels = 3): RgbImage {
  const n = gradient.length;
  let mean = 0;
  for (let i = 0; i < n; i++) mean += gradient[i];
  mean /= n;
  let variance = 0;
  for (let i = 0; i < n; i++) variance += (gradient[i] - mean) ** 2;
  const std = Math.sqrt(variance / n);
  const scaled = new Float32Array(n);
  for (let i = 0; i < n; i++) scaled[i] = 255 * Math.min(1, Math.max(0, ((gradient[i] - mean) / (std + 1e-5)) * 0.1 + 0.5));
  return toRgbImage(scaled, width, height, channels);
}
