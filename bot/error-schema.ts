/** The body of every error answer of farmflow's HTTP APIs (/admin, /support, /api/reports): `{ error }`. */
export const errorSchema = {
  type: 'object',
  properties: { error: { type: 'string' } },
  required: ['error'],
} as const;
