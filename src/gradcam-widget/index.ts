/** The Grad-CAM widget's kernel side: what notebooks call. */
export { showGradCam, GradCamWidget } from './gradcam-widget';
export { gradCamState } from './initial-state';
export { DEFAULT_METHODS, DEFAULT_MAX_CLASSES } from './options';
export type { Box, GradCamEdit, GradCamEvents, ShowGradCamOptions } from './options';
