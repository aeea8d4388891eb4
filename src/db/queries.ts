import { and, eq, ne } from 'drizzle-orm';
import type { Db } from './client';
import { processedEvents, tickets, type Ticket } from './schema';

/** The reads the HTTP routes need to answer 404/409 before anything is queued. */
export function createQueries(db: Db) {
  return {
    async ticket(ticketId: string): Promise<Ticket | undefined> {
      const [row] = await db.select().from(tickets).where(eq(tickets.id, ticketId)).limit(1);
      return row;
    },
    async openTicketOf(phone: string): Promise<Ticket | undefined> {
      const [row] = await db
        .select()
        .from(tickets)
        .where(and(eq(tickets.phone, phone), ne(tickets.status, 'closed')))
        .limit(1);
      return row;
    },
    async isProcessed(eventId: string): Promise<boolean> {
      const [row] = await db.select({ id: processedEvents.id }).from(processedEvents).where(eq(processedEvents.id, eventId)).limit(1);
      return row !== undefined;
    },
  };
}

export type Queries = ReturnType<typeof createQueries>;
