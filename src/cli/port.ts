/** Whether a TCP port is free to listen on, asked before a server is started on it. */
import * as net from 'net';

/** The port of a --port value: a whole number 1-65535. */
export function parsePort(value: number): number {
  if (!Number.isInteger(value) || value < 1 || value > 65535) throw new Error(`--port must be a whole number from 1 to 65535; got ${value}.`);
  return value;
}

/**
 * Resolves when `port` on `host` can be listened on, else rejects with a sentence naming it.
 * Listens for a moment and closes at once; the server started after it may still lose a race,
 * so it should refuse a taken port too rather than move to another.
 */
export function assertPortFree(port: number, host = '127.0.0.1'): Promise<void> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', (err: NodeJS.ErrnoException) => {
      const why =
        err.code === 'EADDRINUSE'
          ? 'is already in use by another program'
          : err.code === 'EACCES'
            ? 'needs more privileges than this user has (ports below 1024 usually do)'
            : `cannot be listened on (${err.code ?? err.message})`;
      reject(new Error(`port ${port} on ${host} ${why}; pick another with --port N, or leave out --port to let Jupyter choose a free one.`));
    });
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve()));
  });
}
