import { describe, expect, test } from 'bun:test';
import { cycles, descentFrom, sourceImports } from '../../../support/layers';

/**
 * The runtime's shape, read from its imports: the shell (index.ts) alone
 * reaches the database; the modules of the core import each other in one
 * direction only (no cycle), so an event followed from the shell never comes
 * back into a module it left. `bun run layers` prints the modules in that
 * order.
 */
const RUNTIME = 'actors/runtime/';
const imports = sourceImports().filter((item) => item.from.startsWith(RUNTIME));
const local = (path: string) => path.slice(RUNTIME.length);

describe("the runtime's modules", () => {
  test('only the shell reaches the database: the core imports its row types, never a statement or a client', () => {
    const reaching = imports.filter((item) => item.to.startsWith('db/') && !item.typeOnly).map((item) => `${local(item.from)} → ${item.to}`);
    expect(reaching.filter((edge) => !edge.startsWith('index.ts'))).toEqual([]);
    expect(reaching).toContain('index.ts → db/runtime-store.ts');
  });

  test('import each other in one direction: no cycle, and none imports the shell', () => {
    const within = imports.filter((item) => item.to.startsWith(RUNTIME));
    expect(cycles(within)).toEqual([]);
    expect(within.filter((item) => local(item.to) === 'index.ts').map((item) => local(item.from))).toEqual([]);
  });

  test('followed from the shell, every module of the runtime is reached, each once', () => {
    const order = descentFrom(`${RUNTIME}index.ts`, imports, RUNTIME).map(local);
    const modules = [...new Set(imports.map((item) => local(item.from)))];
    expect(order[0]).toBe('index.ts');
    expect([...order].sort()).toEqual([...modules].sort());
    expect(new Set(order).size).toBe(order.length);
  });
});
