import type { TSchema } from '@sinclair/typebox';

/** JSON Schema as JSON: TypeBox's symbols and the `$id` used for `$ref` by name dropped. */
export const schema = (model: TSchema): Record<string, unknown> => {
  const { $id: _id, ...plain } = JSON.parse(JSON.stringify(model)) as Record<string, unknown>;
  return plain;
};
/** A JSON body: its schema and what a real one looks like (several, named, when the body has several shapes). */
export const json = (model: TSchema, example: unknown) => ({ 'application/json': { schema: schema(model), example } });
export const jsonExamples = (model: TSchema, examples: Record<string, { summary: string; value: unknown }>) => ({
  'application/json': { schema: schema(model), examples },
});
