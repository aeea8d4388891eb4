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
  /** Refuses new connections only: for a server that closes the established ones itself, as Postgres does on shutdown. */
  refuse(): void;
  restore(): void;
  stop(): void;
}

/** The data of a connection accepted while cut. */
const REFUSED = { client: null, early: [] } as unknown as Pair;

/** What Postgres answers a new connection while it shuts down: FATAL 57P03 (cannot_connect_now). */
export function postgresShuttingDown(): Uint8Array {
  const field = (code: string, value: string) => [code, ...value, '\0'];
  const body = new TextEncoder().encode(
    [...field('S', 'FATAL'), ...field('V', 'FATAL'), ...field('C', '57P03'), ...field('M', 'the database system is shutting down'), '\0'].join(''),
  );
  const message = new Uint8Array(1 + 4 + body.length);
  message[0] = 'E'.charCodeAt(0);
  new DataView(message.buffer).setInt32(1, 4 + body.length);
  message.set(body, 5);
  return message;
}

interface Pair {
  client: Socket<Pair>;
  upstream?: Socket<Pair>;
  /** Bytes from the client that arrived before the upstream connection was open. */
  early: Uint8Array[];
}

/**
 * A refused connection gets `refusal` (when given) in answer to its first bytes, then is closed: a Postgres
 * that is shutting down says so at once, where silence would leave a client retrying until its connect timeout.
 */
export function startTcpProxy(targetHost: string, targetPort: number, options: { refusal?: Uint8Array } = {}): TcpProxy {
  let open = true;
  const pairs = new Set<Pair>();
  // Abrupt, as when the server's host goes away: after a graceful close a client may wait for the rest of a reply.
  const drop = (pair: Pair) => {
    pairs.delete(pair);
    pair.client.terminate();
    pair.upstream?.terminate();
  };
  const server: TCPSocketListener<Pair> = Bun.listen<Pair>({
    hostname: '127.0.0.1',
    port: 0,
    socket: {
      open(client) {
        if (!open) {
          if (options.refusal) client.data = REFUSED;
          else client.end();
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
        if (client.data === REFUSED) {
          client.end(options.refusal);
          // Closed for sure, even if the graceful end stalls: a client left waiting would sit out its connect timeout.
          setTimeout(() => client.terminate(), 100);
          return;
        }
        const pair = client.data;
        if (pair.upstream) pair.upstream.write(chunk);
        else pair.early.push(new Uint8Array(chunk));
      },
      close(client) {
        if (client.data && client.data !== REFUSED) drop(client.data);
      },
      error(client) {
        if (client.data && client.data !== REFUSED) drop(client.data);
      },
    },
  });
  return {
    port: server.port,
    cut() {
      open = false;
      for (const pair of [...pairs]) drop(pair);
    },
    refuse() {
      open = false;
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
