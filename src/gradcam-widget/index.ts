/** The Grad-CAM widget's kernel side: what notebooks call. */
export { showGradCam, GradCamWidget } from './gradcam-widget';
export { gradCamState } from './initial-state';
export { DEFAULT_METHODS, DEFAULT_MAX_CLASSES } from './options';
export type { Box, GradCamEdit, GradCamEvents, ShowGradCamOptions } from './options';
export { chosenFrontEnd, gradCamAnywidget, gradCamWidgetIdentity, showGradCamIdentity, FRONT_ENDS, FRONT_END_ENV } from './front-end';
export type { GradCamFrontEnd } from './front-end';
