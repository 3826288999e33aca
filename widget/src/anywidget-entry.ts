/**
 * The anywidget module's entry: only a default export, `{ initialize, render }`, as anywidget >= 0.9
 * expects (named exports would make it warn of the older form).
 */
import { initialize, render } from './anywidget';

export default { initialize, render };
