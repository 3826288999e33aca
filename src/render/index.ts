/** Pictures: colormaps, resampling, overlays, PNG, explanation figures (canvas lives only here). */
export { applyColormap, colormapTable, COLORMAP_NAMES } from './colormap';
export type { ColormapName } from './colormap';
export { bilinearResize, nearestUpscale } from './upsample';
export { toRgbImage, heatmapImage, overlay, gradientImage } from './image';
export type { RgbImage } from './image';
export { encodePng, decodeImage, writePng } from './png';
export { renderFigure, writeFigure, figureRows, rowPanels, predictedVersusTrueRows } from './figure';
export type { FigureRow, FigureOptions, CaptionOptions } from './figure';
export { confusionMatrixPng } from './confusion';
export { readImageForModel } from './image-file';
export type { ImageForModel } from './image-file';
