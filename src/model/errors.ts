/**
 * Errors from model folders, named so callers (the CLI, the kernel) can tell a bad or missing
 * model from a bug. A missing model is one kind of bad model folder.
 */

/** A model folder that cannot be read as it is: damaged, incomplete, or reaching outside itself. */
export class ModelFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ModelFileError';
  }
}

/** No model where one was asked for (folder, model.json or a weight file missing). */
export class ModelNotFoundError extends ModelFileError {
  constructor(message: string) {
    super(message);
    this.name = 'ModelNotFoundError';
  }
}
