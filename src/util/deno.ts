/**
 * Whether this process is Deno's Jupyter kernel (`deno jupyter`), and its `Deno.jupyter` if so.
 * The jupyter room sends widgets through it; the backend reports on stdout there, because
 * notebooks draw stderr as an error box.
 */

/** The part of Deno's `Deno.jupyter` namespace gradcam-ts uses. */
export interface DenoJupyter {
  broadcast(
    msgType: string,
    content: Record<string, unknown>,
    extra?: { metadata?: Record<string, unknown>; buffers?: Uint8Array[] },
  ): void | Promise<void>;
}

export interface DenoGlobal {
  jupyter?: unknown;
  stderr?: { writeSync(bytes: Uint8Array): number };
}

/** The `Deno` global under Deno, else undefined (Node). */
export function denoGlobal(): DenoGlobal | undefined {
  return (globalThis as { Deno?: DenoGlobal }).Deno;
}

/** `Deno.jupyter` when this process is Deno's Jupyter kernel, else undefined (Node, or `deno run`). */
export function denoJupyter(): DenoJupyter | undefined {
  const deno = denoGlobal();
  if (deno === undefined) return undefined;
  try {
    // Outside `deno jupyter` the getter throws ("only available in `deno jupyter` subcommand").
    const jupyter = deno.jupyter as Partial<DenoJupyter> | undefined;
    return typeof jupyter?.broadcast === 'function' ? (jupyter as DenoJupyter) : undefined;
  } catch {
    return undefined;
  }
}
