import { Elysia } from 'elysia';

export interface HealthDeps {
  checks: Record<string, () => Promise<void>>;
  timeoutMs: number;
  /** Shown alongside the checks (what this instance holds, what Meta said of the templates); never decides readiness. */
  details?: () => Record<string, unknown> | Promise<Record<string, unknown>>;
}

/** `work`, or a rejection once `timeoutMs` has passed without its answer. */
const within = <T>(work: Promise<T>, timeoutMs: number): Promise<T> =>
  Promise.race([work, Bun.sleep(timeoutMs).then(() => Promise.reject(new Error(`no answer in ${timeoutMs} ms`)))]);

/**
 * Liveness answers while the process runs; readiness only when Redis and
 * Postgres both answer. Every check and the details are bounded by
 * `timeoutMs`: a half-open connection must make readiness say "not ready",
 * never leave the load balancer's probe hanging.
 */
export const healthRoutes = (deps: HealthDeps) =>
  new Elysia()
    .get('/health/live', () => ({ status: 'ok' }))
    .get('/health/ready', async ({ set }) => {
      const results = await Promise.all(
        Object.entries(deps.checks).map(async ([name, check]) => {
          try {
            await within(check(), deps.timeoutMs);
            return [name, 'ok'] as const;
          } catch (error) {
            return [name, `unavailable: ${(error as Error).message}`] as const;
          }
        }),
      );
      const ready = results.every(([, result]) => result === 'ok');
      if (!ready) set.status = 503;
      const details = deps.details ? await within(Promise.resolve(deps.details()), deps.timeoutMs).catch(() => ({})) : {};
      return { status: ready ? 'ready' : 'not_ready', checks: Object.fromEntries(results), ...details };
    });
