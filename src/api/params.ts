/** zod pieces shared by the routes' path and query validation. */
import { z } from 'zod';

/** A decimal positive integer in a path or query string (no sign, exponent or leading zeros). */
export const positiveIntString = z.string()
  .regex(/^[1-9][0-9]{0,15}$/, 'must be a positive integer')
  .transform(Number)
  .refine(Number.isSafeInteger, 'is too large');

export const nonNegativeIntString = z.string()
  .regex(/^(0|[1-9][0-9]{0,15})$/, 'must be a non-negative integer')
  .transform(Number)
  .refine(Number.isSafeInteger, 'is too large');

export const MAX_PAGE = 500;
export const DEFAULT_PAGE = 50;

export const limitString = positiveIntString
  .refine((n) => n <= MAX_PAGE, `must be at most ${MAX_PAGE}`)
  .optional()
  .transform((n) => n ?? DEFAULT_PAGE);

export const idParams = z.strictObject({ id: positiveIntString });
