import { eq } from 'drizzle-orm';
import type { Config } from '../config';
import type { Db } from '../db/client';
import { customers } from '../db/schema';
import type { CustomerLookupResult } from '../domain/events';
import { withoutDocument } from '../domain/masking';
import { call } from './http';

export interface CustomerDirectoryOptions {
  url: string;
  token: string;
  timeoutMs: number;
}

export type LookupOutcome = { ok: true; result: CustomerLookupResult } | { ok: false; retryable: boolean; error: string };

/**
 * Finds a subscriber by document number (DESIGN 2.4): the ISP's directory
 * over HTTP when CUSTOMER_LOOKUP_URL is set, else the `customers` table.
 */
export function createCustomerDirectory(options: CustomerDirectoryOptions, db: Db) {
  return {
    /** `phone` is left out of the directory's query when the user hides it: the document alone identifies the subscriber. */
    async lookup(document: string, phone?: string): Promise<LookupOutcome> {
      if (!options.url) {
        const [row] = await db.select().from(customers).where(eq(customers.document, document)).limit(1);
        return {
          ok: true,
          result: row
            ? { document, outcome: 'found', customer: { customerId: row.customerId, customerName: row.customerName, isInactive: row.isInactive } }
            : { document, outcome: 'not_found' },
        };
      }
      const url = new URL(options.url);
      url.searchParams.set('document', document);
      if (phone) url.searchParams.set('phone', phone);
      const outcome = await call({
        method: 'GET',
        url: url.toString(),
        operation: 'directory lookup',
        timeoutMs: options.timeoutMs,
        headers: { Authorization: `Bearer ${options.token}`, Accept: 'application/json' },
        // A directory's error may quote the document it was asked for: masked as a document, not as a phone.
        maskEcho: (text) => withoutDocument(text, document),
      });
      if (!outcome.ok) {
        if (outcome.status === 404) return { ok: true, result: { document, outcome: 'not_found' } };
        return outcome;
      }
      const body = outcome.body as { customerId?: unknown; customerName?: unknown; isInactive?: unknown } | null;
      if (!body || (typeof body.customerId !== 'string' && typeof body.customerId !== 'number') || typeof body.customerName !== 'string') {
        return { ok: false, retryable: false, error: 'customer directory answered 200 without customerId and customerName' };
      }
      return {
        ok: true,
        result: {
          document,
          outcome: 'found',
          customer: { customerId: String(body.customerId), customerName: body.customerName, isInactive: body.isInactive === true },
        },
      };
    },
  };
}

export type CustomerDirectory = ReturnType<typeof createCustomerDirectory>;

/** The ISP's directory when it is a service of its own (CUSTOMER_LOOKUP_URL); undefined when it is the customers table. */
export function externalDirectoryOf(config: Pick<Config, 'CUSTOMER_LOOKUP_URL' | 'CUSTOMER_LOOKUP_TOKEN' | 'HTTP_TIMEOUT_MS'>, db: Db) {
  if (!config.CUSTOMER_LOOKUP_URL) return undefined;
  return createCustomerDirectory({ url: config.CUSTOMER_LOOKUP_URL, token: config.CUSTOMER_LOOKUP_TOKEN, timeoutMs: config.HTTP_TIMEOUT_MS }, db);
}
