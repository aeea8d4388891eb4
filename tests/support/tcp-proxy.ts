import type { Socket, TCPSocketListener } from 'bun';

/**
 * A loopback TCP proxy in front of Postgres or Redis that a test can cut
 * (every connection dropped, new ones refused) and restore: the dependency
 * "goes away" for the service under test without stopping the shared server
 * the other test files use.
 */
export interface TcpProxy {
  port: number;
  cut(): void;
  restore(): void;
  stop(): void;
}

interface Pair {
  client: Socket<Pair>;
  upstream?: Socket<Pair>;
  /** Bytes from the client that arrived before the upstream connection was open. */
  early: Uint8Array[];
}

export function startTcpProxy(targetHost: string, targetPort: number): TcpProxy {
  let open = true;
  const pairs = new Set<Pair>();
  const drop = (pair: Pair) => {
    pairs.delete(pair);
    pair.client.end();
    pair.upstream?.end();
  };
  const server: TCPSocketListener<Pair> = Bun.listen<Pair>({
    hostname: '127.0.0.1',
    port: 0,
    socket: {
      open(client) {
        if (!open) {
          client.end();
          return;
        }
        const pair: Pair = { client, early: [] };
        client.data = pair;
        pairs.add(pair);
        Bun.connect<Pair>({
          hostname: targetHost,
          port: targetPort,
          data: pair,
          socket: {
            open(upstream) {
              pair.upstream = upstream;
              for (const chunk of pair.early) upstream.write(chunk);
              pair.early = [];
            },
            data(_upstream, chunk) {
              pair.client.write(chunk);
            },
            close() {
              drop(pair);
            },
            error() {
              drop(pair);
            },
          },
        }).catch(() => drop(pair));
      },
      data(client, chunk) {
        const pair = client.data;
        if (pair.upstream) pair.upstream.write(chunk);
        else pair.early.push(new Uint8Array(chunk));
      },
      close(client) {
        if (client.data) drop(client.data);
      },
      error(client) {
        if (client.data) drop(client.data);
      },
    },
  });
  return {
    port: server.port,
    cut() {
      open = false;
      for (const pair of [...pairs]) drop(pair);
    },
    restore() {
      open = true;
    },
    stop() {
      open = false;
      for (const pair of [...pairs]) drop(pair);
      server.stop(true);
    },
  };
}
