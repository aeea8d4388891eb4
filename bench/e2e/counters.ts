/**
 * What the end-to-end benchmark counts besides arrivals: the statements the
 * service sends Postgres (a loopback proxy that reads the frontend protocol)
 * and the commands it sends Redis (a private redis-server, so INFO
 * commandstats sees the service alone and no other user of the shared Redis).
 */
import type { Socket } from 'bun';

export interface PostgresCounts {
  /** Simple-protocol queries ('Q') plus extended-protocol executions ('E'): statements. */
  statements: number;
  /**
   * 'Q', 'S' (Sync) and 'H' (Flush, a describe before the bind) messages:
   * each waits for a reply. Statements sent together (pipelined) wait
   * together, so these count the replies, not the waits: see `writes`.
   */
  replies: number;
  /** Chunks the proxy received from the service: its socket writes, a pipelined group usually one. */
  writes: number;
}

interface Connection {
  upstream?: Socket<undefined>;
  early: Uint8Array[];
  /** Bytes of a message cut by a packet boundary. */
  rest: Uint8Array;
  started: boolean;
}

/** A TCP proxy to Postgres that counts what the client sends; it adds one loopback hop. */
export function startCountingPostgresProxy(host: string, port: number) {
  const counts: PostgresCounts = { statements: 0, replies: 0, writes: 0 };

  function count(connection: Connection, chunk: Uint8Array): void {
    let bytes = connection.rest.length > 0 ? Buffer.concat([connection.rest, chunk]) : chunk;
    let offset = 0;
    if (!connection.started) {
      // The startup message (or SSLRequest) has a length and no type byte.
      if (bytes.length < 4) return void (connection.rest = bytes);
      const length = new DataView(bytes.buffer, bytes.byteOffset).getInt32(0);
      if (bytes.length < length) return void (connection.rest = bytes);
      offset = length;
      connection.started = length !== 8 || new DataView(bytes.buffer, bytes.byteOffset).getInt32(4) !== 80877103;
    }
    while (bytes.length - offset >= 5) {
      const type = String.fromCharCode(bytes[offset]!);
      const length = new DataView(bytes.buffer, bytes.byteOffset + offset + 1).getInt32(0);
      if (bytes.length - offset < 1 + length) break;
      if (type === 'Q' || type === 'E') counts.statements++;
      if (type === 'Q' || type === 'S' || type === 'H') counts.replies++;
      offset += 1 + length;
    }
    bytes = bytes.subarray(offset);
    connection.rest = Uint8Array.from(bytes);
  }

  const listener = Bun.listen<Connection>({
    hostname: '127.0.0.1',
    port: 0,
    socket: {
      async open(client) {
        const connection: Connection = { early: [], rest: new Uint8Array(0), started: false };
        client.data = connection;
        connection.upstream = await Bun.connect({
          hostname: host,
          port,
          socket: {
            data: (_, data) => void client.write(data),
            close: () => void client.end(),
            error: () => void client.end(),
          },
        });
        for (const chunk of connection.early) connection.upstream.write(chunk);
        connection.early = [];
      },
      data(client, data) {
        counts.writes++;
        count(client.data, data);
        if (client.data.upstream) client.data.upstream.write(data);
        else client.data.early.push(Uint8Array.from(data));
      },
      close: (client) => void client.data?.upstream?.end(),
      error: (client) => void client.data?.upstream?.end(),
    },
  });
  return {
    port: listener.port,
    counts: (): PostgresCounts => ({ ...counts }),
    stop: () => listener.stop(true),
  };
}

/** A throwaway redis-server on a free port, no persistence: the benchmark's Redis and nobody else's. */
export async function startPrivateRedis(port: number) {
  const server = Bun.spawn(['redis-server', '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
    stdout: 'ignore',
    stderr: 'ignore',
  });
  for (let tries = 0; tries < 100; tries++) {
    const up = await Bun.$`redis-cli -p ${port} ping`.quiet().nothrow();
    if (up.stdout.toString().trim() === 'PONG') break;
    await Bun.sleep(50);
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    pid: server.pid,
    /** Calls per command since the server started (INFO commandstats). */
    async commandCounts(): Promise<Map<string, number>> {
      const info = await Bun.$`redis-cli -p ${port} info commandstats`.quiet().text();
      const counts = new Map<string, number>();
      for (const match of info.matchAll(/^cmdstat_([\w|]+):calls=(\d+)/gm)) counts.set(match[1]!, Number(match[2]));
      return counts;
    },
    async stop() {
      server.kill('SIGTERM');
      await server.exited;
    },
  };
}
