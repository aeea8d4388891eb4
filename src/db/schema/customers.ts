import { boolean, index, pgTable, text, timestamp } from 'drizzle-orm/pg-core';

/** The subscriber directory used when CUSTOMER_LOOKUP_URL is unset (demo seed or CSV import). */
export const customers = pgTable(
  'customers',
  {
    customerId: text('customer_id').primaryKey(),
    document: text('document').notNull().unique(),
    customerName: text('customer_name').notNull(),
    phone: text('phone'),
    isInactive: boolean('is_inactive').notNull().default(false),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [index('customers_phone_idx').on(table.phone)],
);

export type NewCustomer = typeof customers.$inferInsert;
