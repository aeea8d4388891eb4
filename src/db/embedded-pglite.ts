import { cpSync, existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { PGlite, PGliteOptions } from '@electric-sql/pglite';
import pgliteWasm from '@electric-sql/pglite/pglite.wasm' with { type: 'file' };
import initdbWasm from '@electric-sql/pglite/initdb.wasm' with { type: 'file' };
import pgliteData from '@electric-sql/pglite/pglite.data' with { type: 'file' };

type Engine = Pick<PGliteOptions, 'pgliteWasmModule' | 'initdbWasmModule' | 'fsBundle'>;

/**
 * PGlite's engine (its WebAssembly and the file system image it boots from), handed to it rather than found by
 * PGlite beside its own module: inside the executable `bun run build` makes there is no such folder, and these
 * imports are what puts the files in it. Compiled once per open, as PGlite would do itself. `build` names this
 * exact engine: a cluster one engine made is copied only for the same engine.
 */
async function embeddedPgliteEngine(): Promise<{ engine: Engine; build: string }> {
  const bytes = (path: string) => Bun.file(path).arrayBuffer();
  const [wasmBytes, initdbBytes, dataBytes] = await Promise.all([bytes(pgliteWasm), bytes(initdbWasm), bytes(pgliteData)]);
  const [pgliteWasmModule, initdbWasmModule] = await Promise.all([WebAssembly.compile(wasmBytes), WebAssembly.compile(initdbBytes)]);
  const build = [wasmBytes, initdbBytes, dataBytes].map((bytes) => Bun.hash(bytes).toString(36)).join('-');
  return { engine: { pgliteWasmModule, initdbWasmModule, fsBundle: new Blob([dataBytes]) }, build };
}

/** Where fresh clusters are copied from: the XDG cache of the user running the service. */
export function embeddedClusterCache(env: Record<string, string | undefined> = process.env): string {
  return join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'conecta2tel-handover', 'pglite');
}

/**
 * Opens the embedded cluster in `dataDir`. A new one is not made by initdb each time: initdb is 3 to 4 s of CPU,
 * which every `bun run demo` (a fresh directory each run) and every first `bun run start` paid. It is made once
 * per machine and engine in `cacheDir`, before any migration, and copied: a cleanly closed cluster is only files.
 * A cache that cannot be written (a read-only home, a full disk) costs the initdb, never the boot.
 */
export async function openEmbeddedCluster(dataDir: string, cacheDir = embeddedClusterCache()): Promise<PGlite> {
  const { PGlite } = await import('@electric-sql/pglite');
  const { engine, build } = await embeddedPgliteEngine();
  mkdirSync(dataDir, { recursive: true });
  if (!existsSync(join(dataDir, 'PG_VERSION'))) {
    const image = await clusterImage(join(cacheDir, build), engine, PGlite).catch(() => undefined);
    if (image) cpSync(image, dataDir, { recursive: true });
  }
  return PGlite.create(dataDir, engine);
}

async function clusterImage(image: string, engine: Engine, pglite: typeof PGlite): Promise<string> {
  if (existsSync(join(image, 'PG_VERSION'))) return image;
  // Made beside its final name and renamed into place: a process that sees the image sees all of it.
  const making = `${image}.${process.pid}.${Date.now().toString(36)}`;
  try {
    mkdirSync(making, { recursive: true });
    await (await pglite.create(making, engine)).close();
    return publishImage(making, image);
  } finally {
    rmSync(making, { recursive: true, force: true });
  }
}

/**
 * Puts a cluster made in `making` in place as `image`. Of two processes making it at once, the second rename fails
 * on the first's image, which it then uses (its own copy is left for the caller to drop); any other failure is thrown.
 */
export function publishImage(making: string, image: string): string {
  try {
    renameSync(making, image);
  } catch (error) {
    if (!existsSync(join(image, 'PG_VERSION'))) throw error;
  }
  return image;
}
