import { expect, test } from 'bun:test';
import { join } from 'node:path';
import { createMetrics } from '../../src/observability/metrics';

test('every metric the Grafana dashboard queries is one the service exports', async () => {
  const dashboard = (await Bun.file(join(import.meta.dir, '../../deploy/grafana/handover.json')).json()) as { panels: { targets: { expr: string }[] }[] };
  // Building the registry reads nothing: the gauges only touch their sources when scraped.
  const nothing = async () => [];
  const metrics = createMetrics({ deadLetters: async () => 0, outboxBacklog: nothing, partitionBacklogs: nothing, openTickets: nothing });
  const exported = new Set(metrics.registry.getMetricsAsArray().map((metric) => metric.name));
  const queried = new Set(
    dashboard.panels
      .flatMap((panel) => panel.targets.flatMap((target) => target.expr.match(/handover_[a-z0-9_]+/g) ?? []))
      .map((name) => name.replace(/_(bucket|count|sum)$/, '')),
  );
  expect(queried.size).toBeGreaterThan(10);
  expect([...queried].filter((name) => !exported.has(name))).toEqual([]);
});
