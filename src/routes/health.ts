import { Elysia } from 'elysia';

export interface HealthDeps {
  checks: Record<string, () => Promise<void>>;
  timeoutMs: number;
  /** Shown alongside the checks (what this instance holds, what Meta said of the templates); never decides readiness. */
  details?: () => Record<string, unknown> | Promise<Record<string, unknown>>;
}

/** Liveness answers while the process runs; readiness only when Redis and Postgres both answer. */
export const healthRoutes = (deps: HealthDeps) =>
  new Elysia()
    .get('/health/live', () => ({ status: 'ok' }))
    .get('/health/ready', async ({ set }) => {
      const results = await Promise.all(
        Object.entries(deps.checks).map(async ([name, check]) => {
          try {
            await Promise.race([check(), Bun.sleep(deps.timeoutMs).then(() => Promise.reject(new Error(`no answer in ${deps.timeoutMs} ms`)))]);
            return [name, 'ok'] as const;
          } catch (error) {
            return [name, `unavailable: ${(error as Error).message}`] as const;
          }
        }),
      );
      const ready = results.every(([, result]) => result === 'ok');
      if (!ready) set.status = 503;
      return { status: ready ? 'ready' : 'not_ready', checks: Object.fromEntries(results), ...(await deps.details?.()) };
    });
