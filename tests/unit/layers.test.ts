import { describe, expect, test } from 'bun:test';
import { readdirSync, readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { cycles, importsAgainstTheLayers, LAYERS, layerOf, SRC, sourceFiles, sourceImports, unitOf, type Import } from '../support/layers';

/**
 * The layers of docs/ARCHITECTURE.md, read from every import under src/
 * (`bun run layers` prints the same). A rule here is checked against the
 * code, not against the document's word.
 */
const imports = sourceImports();

describe('the layers', () => {
  test('every folder and root file of src/ has a layer, and the root holds only the composition root, the app, config, errors and the logger', () => {
    // Folders of pages or declarations only (dashboard/, docs/, types/) hold no code.
    const code = new Set(sourceFiles().map((file) => relative(SRC, file).split('/')[0]!));
    const units = readdirSync(SRC).filter((name) => code.has(name));
    expect(units.filter((unit) => layerOf(unit) < 0)).toEqual([]);
    expect(units.filter((unit) => unit.endsWith('.ts')).sort()).toEqual(['app.ts', 'config.ts', 'errors.ts', 'index.ts', 'logger.ts']);
  });

  test('no import goes up a layer, or sideways to another unit of its own layer', () => {
    expect(importsAgainstTheLayers(imports)).toEqual([]);
  });

  test('no two modules import each other, however far round', () => {
    expect(cycles(imports).map((cycle) => cycle.join(' → '))).toEqual([]);
  });

  test('the rule catches what it is for: an import up, one sideways, and one within a unit', () => {
    const sample: Import[] = [
      { from: 'domain/events.ts', to: 'db/schema/index.ts', typeOnly: true },
      { from: 'outbox/dispatcher.ts', to: 'timers/scheduler.ts', typeOnly: false },
      { from: 'outbox/dispatcher.ts', to: 'outbox/repository.ts', typeOnly: false },
      { from: 'routes/crm/service.ts', to: 'domain/window.ts', typeOnly: false },
    ];
    expect(importsAgainstTheLayers(sample)).toEqual(['domain/events.ts → db/schema/index.ts', 'outbox/dispatcher.ts → timers/scheduler.ts']);
    expect(cycles([...sample, { from: 'outbox/repository.ts', to: 'outbox/dispatcher.ts', typeOnly: false }])).toEqual([
      ['outbox/dispatcher.ts', 'outbox/repository.ts'],
    ]);
  });

  test('each layer is named once', () => {
    const names = LAYERS.flat();
    expect(names.filter((name, index) => names.indexOf(name) !== index)).toEqual([]);
    expect(imports.filter((item) => layerOf(item.from) < 0).map((item) => unitOf(item.from))).toEqual([]);
  });

  test('no source file is over 300 lines: a file that needs a table of contents is two files', () => {
    const long = sourceFiles().filter((file) => readFileSync(file, 'utf8').split('\n').length > 301);
    expect(long.map((file) => relative(SRC, file))).toEqual([]);
  });
});
