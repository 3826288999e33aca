/**
 * Which front end draws the Grad-CAM widget, and the identity fields that open its comm:
 *   'anywidget'     (default) anywidget's AnyModel/AnyView with our ES module in `_esm`: JupyterLab
 *                   and Notebook 7 with anywidget installed (`gradcam lab` has it), VS Code, Colab;
 *   'labextension'  our prebuilt JupyterLab 4 extension (gradcam-ts-widget), for a Jupyter that has
 *                   it and not anywidget, or to keep saved notebooks small (no module in the state).
 * Chosen by showGradCam's `frontEnd` option, else the GRADCAM_WIDGET environment variable.
 */
import * as fs from 'fs';
import * as path from 'path';
import { anywidgetState, type AnywidgetFrontEnd, type AnywidgetIdentity } from '../jupyter/anywidget';
import type { WidgetSpec } from '../jupyter/widget';
import { GRADCAM_WIDGET_SPEC, WIDGET_MODULE } from '../shared/gradcam-schema';

export const FRONT_ENDS = ['anywidget', 'labextension'] as const;
export type GradCamFrontEnd = (typeof FRONT_ENDS)[number];
export const FRONT_END_ENV = 'GRADCAM_WIDGET';
export const DEFAULT_FRONT_END: GradCamFrontEnd = 'anywidget';

/** widget/build.ts writes the module here (src/gradcam-widget and dist/gradcam-widget are both two levels down). */
export const ANYWIDGET_BUNDLE_DIR = path.resolve(__dirname, '..', '..', 'widget', 'anywidget');

/** The front end asked for: the option, else $GRADCAM_WIDGET, else anywidget. A name not known is refused. */
export function chosenFrontEnd(option?: string, env: NodeJS.ProcessEnv = process.env): GradCamFrontEnd {
  const [value, where] = option !== undefined ? [option, 'showGradCam\'s frontEnd option'] : [env[FRONT_END_ENV], `$${FRONT_END_ENV}`];
  if (value === undefined || value === '') return DEFAULT_FRONT_END;
  if ((FRONT_ENDS as readonly string[]).includes(value)) return value as GradCamFrontEnd;
  throw new Error(`${where} is ${JSON.stringify(value)}; expected one of ${FRONT_ENDS.join(', ')} (or leave it unset for ${DEFAULT_FRONT_END}).`);
}

let bundle: AnywidgetFrontEnd | undefined;

/** Our anywidget front end (read once per process): the ES module and the stylesheet. */
export function gradCamAnywidget(dir = ANYWIDGET_BUNDLE_DIR): AnywidgetFrontEnd {
  if (bundle && dir === ANYWIDGET_BUNDLE_DIR) return bundle;
  const esmFile = path.join(dir, 'index.mjs');
  const cssFile = path.join(dir, 'style.css');
  if (!fs.existsSync(esmFile)) {
    throw new Error(
      `the Grad-CAM widget's anywidget module ${esmFile} is missing; build it with \`npm run build:widget\`, ` +
        `or show the widget through the labextension (showGradCam(..., { frontEnd: 'labextension' }) or ${FRONT_END_ENV}=labextension).`,
    );
  }
  const read: AnywidgetFrontEnd = {
    esm: fs.readFileSync(esmFile, 'utf8'),
    css: fs.existsSync(cssFile) ? fs.readFileSync(cssFile, 'utf8') : '',
    id: `${WIDGET_MODULE}.GradCamWidget`,
  };
  if (dir === ANYWIDGET_BUNDLE_DIR) bundle = read;
  return read;
}

let warned = false;

/**
 * The fields that open the Grad-CAM widget's comm for `frontEnd`. When anywidget is only the
 * default (not asked for) and its module is not built (a source checkout before `npm run build`),
 * the labextension's, with one warning; asked for by name, a missing module is an error.
 */
export function gradCamWidgetIdentity(frontEnd: GradCamFrontEnd, asked = true): WidgetSpec | AnywidgetIdentity {
  if (frontEnd === 'labextension') return { ...GRADCAM_WIDGET_SPEC };
  try {
    return anywidgetState(gradCamAnywidget());
  } catch (e) {
    if (asked) throw e;
    if (!warned) console.warn(`gradcam-ts: ${(e as Error).message} Using the labextension for now.`);
    warned = true;
    return { ...GRADCAM_WIDGET_SPEC };
  }
}

/** The identity showGradCam opens the widget with: the option, else $GRADCAM_WIDGET, else anywidget. */
export function showGradCamIdentity(option?: string, env: NodeJS.ProcessEnv = process.env): WidgetSpec | AnywidgetIdentity {
  const asked = option !== undefined || !!env[FRONT_END_ENV];
  return gradCamWidgetIdentity(chosenFrontEnd(option, env), asked);
}
