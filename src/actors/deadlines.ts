/** A machine's armed deadlines: timer name → ISO due time. Absent means not armed. */
export type Deadlines<T extends string> = Partial<Record<T, string>>;

/**
 * A `timer.fired` event acts only when it names the deadline as armed now:
 * a firing for a deadline since moved or cleared (a late or repeated one)
 * matches nothing and changes nothing.
 */
export function deadlineDue<T extends string>(deadlines: Deadlines<T>, event: { type: string; timer?: string; dueAt?: string }, timer: T): boolean {
  return event.type === 'timer.fired' && event.timer === timer && deadlines[timer] === event.dueAt;
}
