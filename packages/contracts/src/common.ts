import { z } from 'zod';

/**
 * One mailbox, `local@domain`, internationalized (RFC 6531/6532: `zoë@example.com`,
 * `user@bücher.de` as well as its punycode `user@xn--bcher-kva.de`), and nothing more: no
 * display name, no list, no quoted local part, no comment, no whitespace or control character
 * (so never `a@x.com, b@evil`, `Name <b@evil>` or a CRLF that smuggles a header). Local part:
 * dot-separated runs of letters, marks and digits of any script and the RFC 5322 atext symbols;
 * domain: at least two labels of letters, marks, digits and inner hyphens, the last not all digits.
 */
const EMAIL_ATOM = "[\\p{L}\\p{M}\\p{N}!#$%&'*+/=?^_`{|}~-]+";
const EMAIL_LABEL = '[\\p{L}\\p{M}\\p{N}](?:[\\p{L}\\p{M}\\p{N}-]{0,61}[\\p{L}\\p{M}\\p{N}])?';
export const EMAIL_PATTERN = new RegExp(
  `^(?=[^@]{1,64}@)${EMAIL_ATOM}(?:\\.${EMAIL_ATOM})*@(?=.{1,253}$)(?:${EMAIL_LABEL}\\.)+(?!\\p{N}+$)${EMAIL_LABEL}$`,
  'u',
);

/**
 * Emails are compared and stored trimmed, NFC-normalized and lower-cased: `A@X.com ` and
 * `a@x.com` are one person, and so are the two ways of writing `zoë` (issue 10 #23).
 */
export const Email = z
  .string()
  .trim()
  .normalize('NFC')
  .toLowerCase()
  .max(254)
  // A refinement, not `.regex`: the pattern uses Unicode property classes, which an OpenAPI
  // `pattern` (ECMA-262 without the u flag in many tools) would misread; the document says
  // `format: email` instead.
  .refine((value) => EMAIL_PATTERN.test(value), { message: 'must be an email address' })
  .meta({ format: 'email' });

export const IsoDateTime = z.string().describe('ISO 8601 date-time, UTC');

export const ProblemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    code: z.string(),
    detail: z.string().optional(),
    request_id: z.string().optional(),
    errors: z
      .array(z.object({ path: z.string(), message: z.string(), code: z.string().optional() }))
      .optional()
      .describe('the first 20 problems found'),
    errors_total: z
      .number()
      .int()
      .optional()
      .describe('how many problems were found, when there were more than `errors` lists'),
  })
  .catchall(z.unknown())
  .meta({ id: 'Problem', description: 'RFC 9457 problem details with a stable `code`' });

/**
 * A JSON object of at most `maxKeys` entries (OpenAPI `maxProperties`). Free-form objects in a
 * request are bounded like every array and string in it (issue 10 #5).
 */
export const boundedRecord = <K extends z.ZodType<string>, V extends z.ZodType>(
  key: K,
  value: V,
  maxKeys: number,
) =>
  z
    .record(key as unknown as z.ZodString, value)
    .refine((o) => Object.keys(o).length <= maxKeys, `at most ${maxKeys} keys`)
    .meta({ maxProperties: maxKeys });

export const Cursor = z.string().max(200);
export const PageQuery = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: Cursor.optional(),
});

export const page = <T extends z.ZodType>(item: T) =>
  z.object({ data: z.array(item), next_cursor: z.string().nullable() });

export const IdParam = (name: string) => z.object({ [name]: z.string().min(1).max(64) });
