/**
 * gradcam-ts-widget: the browser side of the Grad-CAM widget. Named exports are the ipywidgets
 * module (model + view, for any widget manager); the default export is the JupyterLab plugin.
 */
import { plugin } from './plugin';

export { GradCamWidgetModel as GradCamModel, GradCamWidgetView as GradCamView } from './jupyter-widgets';
export { WIDGET_MODULE as MODULE_NAME, WIDGET_MODULE_VERSION as MODULE_VERSION } from '../../src/shared/gradcam-schema';
export default plugin;
