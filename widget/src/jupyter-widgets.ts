/**
 * The widget as an ipywidgets module (the labextension route, and any ipywidgets widget manager):
 * a DOMWidgetModel with the (de)serialisers of the images' binary buffers, which hosts the
 * GradCamModel, and a DOMWidgetView that hands its element to GradCamView.
 */
import type * as Backbone from 'backbone';
import { DOMWidgetModel, DOMWidgetView, type IBackboneModelOptions, type ISerializers } from '@jupyter-widgets/base';
import { GRADCAM_WIDGET_SPEC, type GradCamState, type ImageEntry } from '../../src/shared/gradcam-schema';
import { decodeImages, exact, type DecodedImage } from './decode';
import { GradCamModel } from './model';
import { GradCamView } from './view';

/** Back to the wire, e.g. when JupyterLab saves the widget state in the notebook. */
function serializeImages(value: DecodedImage[]): ImageEntry[] {
  return value.map((img) => ({
    ...img,
    pixels: exact(img.pixels),
    probs: exact(img.probs),
    logits: exact(img.logits),
    alphas: exact(img.alphas),
    activations: exact(img.activations),
    original_probs: exact(img.original_probs),
    ...(img.map_classes ? { map_classes: exact(img.map_classes) } : {}),
    maps: Object.fromEntries(Object.entries(img.maps).map(([m, a]) => [m, exact(a)])),
  }));
}

export class GradCamWidgetModel extends DOMWidgetModel {
  static serializers: ISerializers = {
    ...DOMWidgetModel.serializers,
    images: { deserialize: decodeImages, serialize: serializeImages },
  };

  static model_name = GRADCAM_WIDGET_SPEC._model_name;
  static model_module = GRADCAM_WIDGET_SPEC._model_module;
  static model_module_version = GRADCAM_WIDGET_SPEC._model_module_version;
  static view_name = GRADCAM_WIDGET_SPEC._view_name;
  static view_module = GRADCAM_WIDGET_SPEC._view_module;
  static view_module_version = GRADCAM_WIDGET_SPEC._view_module_version;

  /** The widget's model proper, shared by every view of this model. */
  gradcam!: GradCamModel;

  defaults(): Backbone.ObjectHash {
    const state: Omit<GradCamState, 'images'> & { images: DecodedImage[] } = {
      class_names: [],
      layer: '',
      images: [],
      layers: [],
      interactive: false,
      selected_class: [],
      method: 'gradcam',
      colormap: 'jet',
      opacity: 0.5,
    };
    return { ...super.defaults(), ...GRADCAM_WIDGET_SPEC, ...state };
  }

  initialize(attributes: Backbone.ObjectHash, options: IBackboneModelOptions): void {
    super.initialize(attributes, options);
    const model = this; // eslint-disable-line @typescript-eslint/no-this-alias -- the host reads comm_live live
    this.gradcam = new GradCamModel({
      get: (key) => this.get(key),
      set: (key, value) => this.set(key, value),
      save_changes: () => this.save_changes(),
      set_state: (state) => this.set_state(state),
      send: (content, callbacks, buffers) => this.send(content as Parameters<DOMWidgetModel['send']>[0], callbacks, buffers),
      on: (event, fn) => this.on(event, fn),
      off: (event, fn) => this.off(event, fn),
      get comm_live() {
        return model.comm_live;
      },
    });
  }
}

export class GradCamWidgetView extends DOMWidgetView {
  declare model: GradCamWidgetModel;
  private view: GradCamView | undefined;

  render(): void {
    this.view = new GradCamView(this.model.gradcam, this.el);
    this.view.render();
  }

  remove(): ReturnType<DOMWidgetView['remove']> {
    this.view?.remove();
    this.view = undefined;
    return super.remove();
  }
}
