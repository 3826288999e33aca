/**
 * A widget whose front end is an ES module carried in its own state, rendered by anywidget's
 * generic model and view (JupyterLab, Notebook 7, VS Code, Colab and marimo have them; no
 * extension of ours needed). The kernel opens the comm with anywidget's identity, the module as
 * `_esm` and its stylesheet as `_css`; everything else is the widget's ordinary synced state.
 * Knows nothing of Grad-CAM: any kernel transport (tslab's comms, Deno's broadcast) can send it.
 */
export const ANYWIDGET_MODULE = 'anywidget';
/**
 * The module version anywidget 0.11 declares for its models (Python's `_ANYWIDGET_SEMVER_VERSION`,
 * "~MAJOR.MINOR.*" of the release); its front end registers "0.11.x", which the widget manager
 * matches against this range.
 */
export const ANYWIDGET_MODULE_VERSION = '~0.11.*';

/** The front end of one kind of widget, as anywidget loads it. */
export interface AnywidgetFrontEnd {
  /** A self-contained ES module whose default export is `{ render }` (or an http(s) URL of one). */
  esm: string;
  /** Its stylesheet (or an http(s) URL), applied once per `id`. */
  css?: string;
  /**
   * Names the widget kind (anywidget keys the stylesheet on it, so widgets of one kind share one
   * <style>); Python widgets use their class's qualified name.
   */
  id: string;
}

/** anywidget's six identity fields plus the front end: what its AnyModel and AnyView read (a WidgetSpec). */
export interface AnywidgetIdentity {
  _model_name: 'AnyModel';
  _model_module: typeof ANYWIDGET_MODULE;
  _model_module_version: string;
  _view_name: 'AnyView';
  _view_module: typeof ANYWIDGET_MODULE;
  _view_module_version: string;
  _esm: string;
  _css: string;
  _anywidget_id: string;
}

/** State fields that belong to anywidget's machinery rather than to the widget's own state. */
export const ANYWIDGET_FIELDS: readonly string[] = ['_esm', '_css', '_anywidget_id'];

/**
 * The state that opens a widget as an anywidget: spread it under the widget's own state in the
 * comm_open (`{ ...anywidgetState(frontEnd), ...state }`), or pass it as the WidgetModel's spec.
 */
export function anywidgetState(frontEnd: AnywidgetFrontEnd): AnywidgetIdentity {
  if (typeof frontEnd.esm !== 'string' || frontEnd.esm.length === 0) {
    throw new Error(`anywidget front end "${frontEnd.id}": the ES module is empty; build it first (npm run build:widget).`);
  }
  return {
    _model_name: 'AnyModel',
    _model_module: ANYWIDGET_MODULE,
    _model_module_version: ANYWIDGET_MODULE_VERSION,
    _view_name: 'AnyView',
    _view_module: ANYWIDGET_MODULE,
    _view_module_version: ANYWIDGET_MODULE_VERSION,
    _esm: frontEnd.esm,
    _css: frontEnd.css ?? '',
    _anywidget_id: frontEnd.id,
  };
}
