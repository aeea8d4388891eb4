import type { PGliteOptions } from '@electric-sql/pglite';
import pgliteWasm from '@electric-sql/pglite/pglite.wasm' with { type: 'file' };
import initdbWasm from '@electric-sql/pglite/initdb.wasm' with { type: 'file' };
import pgliteData from '@electric-sql/pglite/pglite.data' with { type: 'file' };

/**
 * PGlite's engine (its WebAssembly and the file system image it boots from), handed to it rather than found by
 * PGlite beside its own module: inside the executable `bun run build` makes there is no such folder, and these
 * imports are what puts the files in it. Compiled once per open, as PGlite would do itself.
 */
export async function embeddedPgliteEngine(): Promise<Pick<PGliteOptions, 'pgliteWasmModule' | 'initdbWasmModule' | 'fsBundle'>> {
  const [pgliteWasmModule, initdbWasmModule] = await Promise.all(
    [pgliteWasm, initdbWasm].map(async (path) => WebAssembly.compile(await Bun.file(path).arrayBuffer())),
  );
  return { pgliteWasmModule, initdbWasmModule, fsBundle: Bun.file(pgliteData) };
}
