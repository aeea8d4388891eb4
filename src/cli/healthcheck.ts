/** How long the check waits for the answer: Docker's own timeout (deploy/Dockerfile) is longer, so this one speaks first. */
const TIMEOUT_MS = 3000;

/**
 * `handover healthcheck`: the container's HEALTHCHECK (deploy/Dockerfile). The image has no shell and no
 * curl, so the executable asks the service it runs beside: GET /health/live on its own PORT. 0 when it
 * answers 200; otherwise one line saying what it got, and 1.
 */
export async function healthcheck(env: Record<string, string | undefined>): Promise<number> {
  const url = `http://127.0.0.1:${env.PORT || '3000'}/health/live`;
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(TIMEOUT_MS) });
    if (response.status === 200) return 0;
    console.error(`healthcheck: ${url} answered ${response.status}`);
  } catch (error) {
    console.error(`healthcheck: ${url} did not answer (${(error as Error).message})`);
  }
  return 1;
}
