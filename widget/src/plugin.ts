/**
 * The JupyterLab 4 / Notebook 7 plugin: registers our model and view with the ipywidgets
 * widget manager (the registry token is provided by @jupyter-widgets/jupyterlab-manager).
 */
import { IJupyterWidgetRegistry } from '@jupyter-widgets/base';
import { WIDGET_MODULE, WIDGET_MODULE_VERSION } from '../../src/shared/gradcam-schema';
import { GradCamWidgetModel, GradCamWidgetView } from './jupyter-widgets';

/** The part of JupyterLab's plugin interface we use (avoids depending on @jupyterlab/application). */
export interface WidgetPlugin {
  id: string;
  description: string;
  requires: (typeof IJupyterWidgetRegistry)[];
  autoStart: boolean;
  activate: (app: unknown, registry: IJupyterWidgetRegistry) => void;
}

export const plugin: WidgetPlugin = {
  id: `${WIDGET_MODULE}:plugin`,
  description: 'Grad-CAM explanations as an interactive ipywidget (gradcam-ts).',
  requires: [IJupyterWidgetRegistry],
  autoStart: true,
  activate: (_app, registry) => {
    registry.registerWidget({
      name: WIDGET_MODULE,
      version: WIDGET_MODULE_VERSION,
      // Named as the kernel's _model_name / _view_name say.
      exports: { GradCamModel: GradCamWidgetModel, GradCamView: GradCamWidgetView },
    });
  },
};
