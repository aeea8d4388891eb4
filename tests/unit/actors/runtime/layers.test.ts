import { describe, expect, test } from 'bun:test';
import { readdirSync, readFileSync } from 'node:fs';
import { join, normalize } from 'node:path';

/**
 * The runtime's shape, read from its imports: the shell (index.ts) alone
 * reaches the database; the modules of the core import each other in one
 * direction only (no cycle), so an event followed from the shell never comes
 * back into a module it left. `grep -n "^import" src/actors/runtime/*.ts`
 * shows the same graph.
 */
const RUNTIME = join(import.meta.dir, '../../../../src/actors/runtime');
const modules = readdirSync(RUNTIME).filter((file) => file.endsWith('.ts'));

interface Import {
  from: string;
  typeOnly: boolean;
}

function importsOf(file: string): Import[] {
  const source = readFileSync(join(RUNTIME, file), 'utf8');
  return [...source.matchAll(/^import\s+([\s\S]*?)\s+from\s+'([^']+)';/gm)].map(([, clause, from]) => {
    const names = /\{([\s\S]*)\}/.exec(clause!)?.[1]?.split(',').map((name) => name.trim()).filter(Boolean) ?? [];
    const typeOnly = clause!.startsWith('type ') || (names.length > 0 && !/^[\w$]+\s*,/.test(clause!) && names.every((name) => name.startsWith('type ')));
    return { from: from!, typeOnly };
  });
}

/** Runtime module → the runtime modules it imports (values or types). */
const graph = new Map(
  modules.map((file) => [
    file,
    importsOf(file)
      .filter((item) => item.from.startsWith('./'))
      .map((item) => `${normalize(item.from).replace(/^\.\//, '')}.ts`),
  ]),
);

describe("the runtime's modules", () => {
  test('only the shell reaches the database: the core imports its row types, never a statement or a client', () => {
    const reaching = modules.flatMap((file) =>
      importsOf(file)
        .filter((item) => item.from.startsWith('../../db/') && !item.typeOnly)
        .map((item) => `${file} → ${item.from}`),
    );
    expect(reaching.filter((edge) => !edge.startsWith('index.ts'))).toEqual([]);
    expect(reaching).toContain('index.ts → ../../db/runtime-store');
  });

  test('import each other in one direction: no cycle, and none imports the shell', () => {
    const cycles: string[] = [];
    const visit = (file: string, path: string[]) => {
      if (path.includes(file)) return void cycles.push([...path.slice(path.indexOf(file)), file].join(' → '));
      for (const next of graph.get(file) ?? []) visit(next, [...path, file]);
    };
    for (const file of modules) visit(file, []);
    expect(cycles).toEqual([]);
    expect([...graph].filter(([, imported]) => imported.includes('index.ts')).map(([file]) => file)).toEqual([]);
  });
});
