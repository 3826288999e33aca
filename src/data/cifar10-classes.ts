/**
 * CIFAR-10's label names, apart from the file reader: the engine names a 10-output model's classes
 * with them, and the engine must bundle for a browser, where there is no `fs`.
 */
export const NUM_CLASSES = 10;

export const CLASS_NAMES: readonly string[] = [
  'airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck',
];
