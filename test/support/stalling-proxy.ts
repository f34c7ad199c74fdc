/**
 * TCP proxies that can stop answering: a dependency that accepts connections and requests and
 * never replies, or that is gone (connections refused), as a hung Telegram or Redis behaves. The
 * real server behind stays up (the shared Redis is never stopped).
 */
import { createServer, type Server, type Socket, connect } from 'node:net';

export interface StallingProxy {
  port: number;
  /** 'forward': pass bytes both ways; 'stall': accept, read, never answer. */
  mode: 'forward' | 'stall';
  /** Every byte that arrived while stalled (what the client tried to send). */
  stalledBytes: number;
  /** Drops every open connection and refuses new ones until `reopen`. */
  refuse(): Promise<void>;
  reopen(): Promise<void>;
  close(): Promise<void>;
}

/** `target` is read at each new connection: the server behind may start after the proxy. */
export async function startStallingProxy(target: () => { host: string; port: number }) {
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  let port = 0;

  const proxy: StallingProxy = {
    port: 0,
    mode: 'forward',
    stalledBytes: 0,
    async refuse() {
      await closeServer();
    },
    async reopen() {
      await listen();
    },
    async close() {
      await closeServer();
    },
  };

  const onConnection = (client: Socket) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.on('error', () => undefined);
    if (proxy.mode === 'stall') {
      client.on('data', (chunk: Buffer) => (proxy.stalledBytes += chunk.length));
      return;
    }
    const { host, port: targetPort } = target();
    const upstream = connect(targetPort, host);
    sockets.add(upstream);
    upstream.on('close', () => {
      sockets.delete(upstream);
      client.destroy();
    });
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
    client.on('data', (chunk: Buffer) => {
      if (proxy.mode === 'stall') proxy.stalledBytes += chunk.length;
      else upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (proxy.mode === 'forward') client.write(chunk);
    });
  };

  async function listen() {
    server = createServer(onConnection);
    await new Promise<void>((resolve, reject) => {
      server!.once('error', reject);
      server!.listen(port, '127.0.0.1', () => resolve());
    });
    port = (server.address() as { port: number }).port;
    proxy.port = port;
  }

  async function closeServer() {
    const closing = server;
    server = undefined;
    for (const socket of sockets) socket.destroy();
    sockets.clear();
    if (closing) await new Promise<void>((resolve) => closing.close(() => resolve()));
  }

  await listen();
  return proxy;
}
