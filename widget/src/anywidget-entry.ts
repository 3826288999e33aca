/**
 * The anywidget module's entry: only a default export, `{ render }`, as anywidget >= 0.9 expects
 * (a named `render` export would make it warn of the older form).
 */
import { render } from './anywidget';

export default { render };
