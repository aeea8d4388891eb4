/**
 * The code's structure, read from its imports: every source file under
 * src/, the relative imports it makes (values and types alike), and the layer
 * each file belongs to. tests/unit/layers.test.ts holds the rules;
 * `bun run layers` prints what it sees.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

export const SRC = resolve(import.meta.dir, '../../src');

/**
 * The layers, top first (docs/ARCHITECTURE.md, "Layers"): a file imports
 * only from its own folder or from a layer below its own. Names on one line
 * share a layer and do not import each other.
 */
export const LAYERS: readonly (readonly string[])[] = [
  ['demo'],
  ['index.ts'],
  ['cli', 'boot'],
  ['app.ts'],
  ['routes'],
  ['outbox', 'timers', 'retention', 'privacy'],
  ['actors'],
  ['kpis', 'media', 'live'],
  ['integrations'],
  ['streams'],
  ['db'],
  ['observability', 'redis', 'rate-limits'],
  ['lib'],
  ['config.ts', 'errors.ts', 'logger.ts'],
  ['domain'],
];

export interface Import {
  /** Both relative to src/, e.g. `actors/runtime/core.ts` → `domain/events.ts`. */
  from: string;
  to: string;
  /** `import type`, or every name imported is a type: nothing of the module runs. */
  typeOnly: boolean;
}

/** Every .ts file under `dir` (declaration files, `.d.ts`, hold no code). */
export function sourceFiles(dir: string = SRC): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return name.endsWith('.ts') && !name.endsWith('.d.ts') ? [path] : [];
  });
}

/** `./x` names `x.ts`, or `x/index.ts` for a folder. */
function resolveSource(from: string, specifier: string): string | undefined {
  const base = resolve(dirname(from), specifier);
  for (const candidate of [`${base}.ts`, join(base, 'index.ts'), base]) {
    try {
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      // Not this one.
    }
  }
  return undefined;
}

const IMPORT = /(?:^|\n)\s*(?:import|export)\b([^'"]*?)\bfrom\s+'(\.[^']+)'|\bimport\(\s*'(\.[^']+)'\s*\)/g;

/** `type { A }`, `{ type A, type B }`: a clause that brings in types only. */
function typeOnly(clause: string | undefined): boolean {
  if (!clause) return false;
  const trimmed = clause.trim();
  if (trimmed.startsWith('type ')) return true;
  const names = /^\{([\s\S]*)\}$/
    .exec(trimmed)?.[1]
    ?.split(',')
    .map((name) => name.trim())
    .filter(Boolean);
  return !!names && names.length > 0 && names.every((name) => name.startsWith('type '));
}

/** Every relative import between two code files of src/. */
export function sourceImports(): Import[] {
  return sourceFiles(SRC).flatMap((file) =>
    [...readFileSync(file, 'utf8').matchAll(IMPORT)].flatMap((match) => {
      const target = resolveSource(file, (match[2] ?? match[3])!);
      // Pages imported as files (`with { type: 'file' }`) and files outside src/ (package.json) are not code.
      if (!target?.endsWith('.ts') || relative(SRC, target).startsWith('..')) return [];
      return [{ from: relative(SRC, file), to: relative(SRC, target), typeOnly: typeOnly(match[1]) }];
    }),
  );
}

/** The folder (or root file) a src/ path belongs to: `routes/crm/service.ts` → `routes`, `app.ts` → `app.ts`. */
export const unitOf = (path: string): string => path.split('/')[0]!;

/** A file's layer, 0 at the top; -1 for a unit no layer names. */
export const layerOf = (path: string): number => LAYERS.findIndex((layer) => layer.includes(unitOf(path)));

/** Imports that go up the layers or sideways to another unit of the same layer. */
export function importsAgainstTheLayers(imports: readonly Import[]): string[] {
  return imports.filter(({ from, to }) => unitOf(from) !== unitOf(to) && layerOf(to) <= layerOf(from)).map(({ from, to }) => `${from} → ${to}`);
}

/** Every cycle among the files (each found once, from its first file in name order). */
export function cycles(imports: readonly Import[]): string[][] {
  const next = new Map<string, string[]>();
  for (const { from, to } of imports) next.set(from, [...(next.get(from) ?? []), to]);
  const found = new Map<string, string[]>();
  const state = new Map<string, 'open' | 'done'>();
  const visit = (file: string, path: string[]) => {
    if (state.get(file) === 'done') return;
    if (state.get(file) === 'open') {
      const cycle = path.slice(path.indexOf(file));
      const start = cycle.indexOf([...cycle].sort()[0]!);
      const rotated = [...cycle.slice(start), ...cycle.slice(0, start)];
      found.set(rotated.join(' → '), rotated);
      return;
    }
    state.set(file, 'open');
    for (const target of next.get(file) ?? []) visit(target, [...path, file]);
    state.set(file, 'done');
  };
  for (const file of [...next.keys()].sort()) visit(file, []);
  return [...found.values()];
}

/**
 * A folder's files in the order an event followed through them meets them:
 * each file before every file it imports, the entry first. With no cycle,
 * this walk visits each module once, in one direction.
 */
export function descentFrom(entry: string, imports: readonly Import[], within: string): string[] {
  const order: string[] = [];
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const { to } of imports.filter((item) => item.from === file && item.to.startsWith(within))) visit(to);
    order.unshift(file);
  };
  visit(entry);
  return order;
}

if (import.meta.main) {
  const imports = sourceImports();
  console.log('Layers, top first; each unit with the units below it that it imports:\n');
  for (const layer of LAYERS) {
    for (const unit of layer) {
      const below = [...new Set(imports.filter((item) => unitOf(item.from) === unit && unitOf(item.to) !== unit).map((item) => unitOf(item.to)))];
      console.log(`  ${unit.padEnd(14)} → ${below.sort((a, b) => layerOf(a) - layerOf(b)).join(', ') || '(nothing)'}`);
    }
  }
  const runtime = 'actors/runtime/';
  console.log(`\nAn event from the worker into the runtime (${runtime}), each module before those it imports:\n`);
  for (const file of descentFrom(`${runtime}index.ts`, imports, runtime)) {
    const uses = imports.filter((item) => item.from === file && item.to.startsWith(runtime)).map((item) => item.to.slice(runtime.length));
    console.log(`  ${file.slice(runtime.length).padEnd(14)} imports ${uses.join(', ') || '(none of the runtime)'}`);
  }
  const against = importsAgainstTheLayers(imports);
  const loops = cycles(imports);
  console.log(`\n${against.length} import(s) against the layers${against.map((line) => `\n  ${line}`).join('')}`);
  console.log(`${loops.length} import cycle(s)${loops.map((cycle) => `\n  ${[...cycle, cycle[0]].join(' → ')}`).join('')}`);
  if (against.length > 0 || loops.length > 0 || imports.some((item) => layerOf(item.from) < 0)) process.exit(1);
}
