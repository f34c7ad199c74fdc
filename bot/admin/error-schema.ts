/** The body of every error answer on the admin listener (/admin, /support): `{ error }`. */
export const errorSchema = {
  type: 'object',
  properties: { error: { type: 'string' } },
  required: ['error'],
} as const;
