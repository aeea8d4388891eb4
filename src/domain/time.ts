/**
 * Times travel as ISO strings: every event carries the `at` it was accepted
 * at, and no machine reads a clock, so deadlines are computed from them.
 */
export const addSeconds = (iso: string, seconds: number): string => new Date(Date.parse(iso) + seconds * 1000).toISOString();
