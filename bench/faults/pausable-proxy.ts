import type { Socket, TCPSocketListener } from 'bun';

/**
 * A loopback TCP proxy in front of Postgres that can hold what the service
 * sends (its queries wait, nothing is dropped) and let it through later: the
 * worker falls behind while webhooks keep being acknowledged into Redis. The
 * Postgres others use keeps running.
 */
export interface PausableProxy {
  port: number;
  pause(): void;
  resume(): void;
  stop(): void;
}

/** Bytes waiting for a socket: written as far as the socket takes them, the rest on its next drain. */
interface Outgoing {
  socket?: Socket<Pair>;
  queue: Uint8Array[];
}

interface Pair {
  toUpstream: Outgoing;
  toClient: Outgoing;
  client: Socket<Pair>;
  upstream?: Socket<Pair>;
}

export function startPausableProxy(targetPort: number): PausableProxy {
  let paused = false;
  const pairs = new Set<Pair>();

  const pump = (out: Outgoing, holding: boolean) => {
    if (holding || !out.socket) return;
    while (out.queue.length > 0) {
      const chunk = out.queue[0]!;
      const written = out.socket.write(chunk);
      if (written < chunk.length) {
        out.queue[0] = chunk.subarray(Math.max(written, 0));
        return;
      }
      out.queue.shift();
    }
  };
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
        const pair: Pair = { client, toUpstream: { queue: [] }, toClient: { socket: client, queue: [] } };
        client.data = pair;
        pairs.add(pair);
        Bun.connect<Pair>({
          hostname: '127.0.0.1',
          port: targetPort,
          data: pair,
          socket: {
            open(upstream) {
              pair.upstream = upstream;
              pair.toUpstream.socket = upstream;
              pump(pair.toUpstream, paused);
            },
            data(_upstream, chunk) {
              pair.toClient.queue.push(new Uint8Array(chunk));
              pump(pair.toClient, false);
            },
            drain: () => pump(pair.toUpstream, paused),
            close: () => drop(pair),
            error: () => drop(pair),
          },
        }).catch(() => drop(pair));
      },
      data(client, chunk) {
        client.data.toUpstream.queue.push(new Uint8Array(chunk));
        pump(client.data.toUpstream, paused);
      },
      drain: (client) => pump(client.data.toClient, false),
      close: (client) => drop(client.data),
      error: (client) => drop(client.data),
    },
  });
  return {
    port: server.port,
    pause() {
      paused = true;
    },
    resume() {
      paused = false;
      for (const pair of pairs) pump(pair.toUpstream, false);
    },
    stop() {
      for (const pair of [...pairs]) drop(pair);
      server.stop(true);
    },
  };
}
