/** The data room's public surface: CIFAR-10 lookup, download, verification, the progress bar, and synthetic shapes. */
export { CIFAR10_SHA1, sha1File, verifyChecksums, ChecksumMismatchError } from './checksums';
export { downloadFile, TruncatedDownloadError, HttpStatusError } from './download';
export type { DownloadOptions, DownloadProgress, DownloadResult } from './download';
export { extractCifar10, CIFAR10_FOLDER } from './extract';
export type { ExtractOptions } from './extract';
export { extractTar, ArchiveError } from './tar';
export { locateCifar10, defaultCacheDir, DatasetNotFoundError, CIFAR10_URL } from './locate';
export type { LocateOptions } from './locate';
export { ProgressBar, formatBytes, formatSeconds } from './progress';
export type { ProgressBarOptions, ProgressStream } from './progress';
export {
  CLASS_NAMES, NUM_CLASSES, IMAGE_SIZE, IMAGE_BYTES, RECORD_BYTES, CorruptDataError,
  parseBatch, readBatchFile, readSplit, readClassNames, imageAt, concatSets, encodeBatch,
} from './cifar10';
export type { ImageSet, Split } from './cifar10';
export { makeRandom, shuffledIndices, cropAndFlip, gatherBatch } from './augment';
export { shapesDataset, SHAPE_CLASS_NAMES } from './shapes';
export type { ShapesDataset, ShapeScene, ShapesOptions, PixelBox, Disc, Square } from './shapes';
