import fc from 'fast-check';

/**
 * JSON Schema → fast-check arbitraries, for the subset the served OpenAPI document uses (it is
 * generated from the zod contracts): type (or a list of types), enum, const, anyOf/oneOf/allOf,
 * properties/required/additionalProperties/propertyNames, items/minItems/maxItems,
 * minLength/maxLength/pattern, minimum/maximum (exclusive too), format: email. Unknown keywords
 * are ignored (a value may then be refused, which the fuzzer accepts as a 4xx like any other).
 *
 * `valid(schema)` aims at values the route accepts, so requests reach the handlers: a string may
 * come from the world's dictionary (real ids, role keys, permissions, emails) when it fits the
 * schema. `invalid(schema)` breaks exactly one thing somewhere in the value: a wrong type, a
 * length or range just past (or far past) its bound, a NUL, hostile unicode, deep nesting, an
 * extra or missing property.
 */
export interface JsonSchema {
  type?: string | string[];
  enum?: unknown[];
  const?: unknown;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  allOf?: JsonSchema[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  propertyNames?: JsonSchema;
  items?: JsonSchema;
  minItems?: number;
  maxItems?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  format?: string;
  default?: unknown;
  [keyword: string]: unknown;
}

/**
 * Strings the world knows (ids, keys, emails…), offered wherever a schema accepts them. A
 * property's or parameter's name narrows them to its kind (`email` gets addresses, `scope` ids,
 * `permissions` permission names), so valid values are valid in meaning too, not only in shape.
 */
export interface Dictionary {
  strings: readonly string[];
  categories: Readonly<Record<string, readonly string[]>>;
}

const HINTS: readonly [RegExp, string][] = [
  [/email/i, 'emails'],
  [/password/i, 'passwords'],
  [/permission/i, 'permissions'],
  [/^(role|replace_with)$/i, 'roles'],
  [/token/i, 'tokens'],
  [/^code$/i, 'codes'],
  [/template/i, 'templates'],
  [/product/i, 'products'],
  [/^type$/i, 'types'],
  [/login_method|provider/i, 'providers'],
  [/(^|_)id$|^scope$|^subject$|^actor$|^target$|^account$/i, 'ids'],
  [/name|description|message|search/i, 'text'],
];

/** The dictionary for a value named `name` (a property or parameter), or the whole of it. */
export function narrow(dict: Dictionary, name: string): Dictionary {
  for (const [pattern, category] of HINTS)
    if (pattern.test(name)) return { ...dict, strings: dict.categories[category] ?? [] };
  return dict;
}

const patternCache = new Map<string, RegExp | null>();
function regexOf(pattern: string): RegExp | null {
  if (!patternCache.has(pattern)) {
    try {
      patternCache.set(pattern, new RegExp(pattern, 'u'));
    } catch {
      patternCache.set(pattern, null);
    }
  }
  return patternCache.get(pattern)!;
}

const codePoints = (s: string) => [...s].length;

/** Whether a string satisfies a string schema's own keywords (not enum/anyOf). */
export function fitsString(schema: JsonSchema, s: string): boolean {
  if (schema.enum) return schema.enum.includes(s);
  if (schema.const !== undefined) return schema.const === s;
  if (schema.minLength !== undefined && codePoints(s) < schema.minLength) return false;
  if (schema.maxLength !== undefined && codePoints(s) > schema.maxLength) return false;
  if (schema.pattern) {
    const re = regexOf(schema.pattern);
    if (re && !re.test(s)) return false;
  }
  return true;
}

const typesOf = (schema: JsonSchema): string[] =>
  Array.isArray(schema.type)
    ? schema.type
    : schema.type
      ? [schema.type]
      : schema.properties || schema.additionalProperties
        ? ['object']
        : schema.items
          ? ['array']
          : [];

const LIMIT = 2 ** 31;
const SMALL = 6; // the longest array/dictionary a valid value usually has (edges aside)

/** Hostile strings: each is a problem for some layer (JSON, SQL, Unicode, PostgreSQL text). */
export const NASTY_STRINGS: readonly string[] = [
  '',
  ' ',
  '\u0000',
  'a\u0000b',
  '\ud800',
  '\udfff\ud800',
  '\u202e\u0041\u0301',
  '👩‍👩‍👧‍👦'.repeat(20),
  'zoë@exämple.com',
  '\r\nX-Injected: 1',
  'a@x.com, b@evil',
  'Name <b@evil>',
  "' OR 1=1 --",
  '%00',
  '%',
  '..%2f..%2f',
  '../../etc/passwd',
  '{"a":1}',
  '__proto__',
  'constructor',
  'NaN',
  'Infinity',
  '-1',
  '1e21',
  '9223372036854775808',
  '18446744073709551616',
  '-9223372036854775809',
  '0x10',
  'null',
  'true',
  '*',
  '.*',
  '\\',
  '\t',
];

/** Numbers as text at and past the edges of integer columns (cursors, limits, days). */
export const NUMERIC_EDGE_STRINGS: readonly string[] = [
  '9223372036854775807',
  '9223372036854775808',
  '-9223372036854775809',
  '18446744073709551616',
  '1e21',
  '-1',
  '0',
  '1.5',
  'NaN',
];

/** Numbers at and past the edges of every column type. */
export const EDGE_NUMBERS: readonly number[] = [
  0,
  -0,
  -1,
  1,
  0.5,
  -0.5,
  2 ** 31,
  2 ** 31 - 1,
  -(2 ** 31),
  2 ** 32,
  2 ** 53,
  2 ** 53 + 2,
  2 ** 63,
  -(2 ** 63),
  2 ** 64,
  1e21,
  1e308,
  -1e308,
  Number.MIN_VALUE,
  Number.MAX_SAFE_INTEGER,
];

// fc.emailAddress() is thorough but slow to generate; addresses here only need to look real.
const EMAIL = fc
  .tuple(
    fc.string({ unit: fc.constantFrom(...'abcdefxyz0129._+-'), minLength: 1, maxLength: 20 }),
    fc.constantFrom('example.com', 'example.org', 'exämple.com', 'x.co'),
  )
  .map(([local, domain]) => `${local}@${domain}`);

function stringArb(schema: JsonSchema, dict: Dictionary): fc.Arbitrary<string> {
  const fitting = dict.strings.filter((s) => fitsString(schema, s));
  const min = schema.minLength ?? 0;
  const max = schema.maxLength ?? Math.max(min, 64);
  let generated: fc.Arbitrary<string>;
  if (schema.pattern && regexOf(schema.pattern)) {
    generated = fc
      .stringMatching(regexOf(schema.pattern)!, { size: 'small' })
      .filter((s) => fitsString(schema, s));
  } else if (schema.format === 'email' || (schema.maxLength === 254 && !schema.pattern)) {
    generated = EMAIL.filter((s) => fitsString(schema, s));
  } else {
    const upper = Math.min(max, min + 40);
    generated = fc.oneof(
      { weight: 6, arbitrary: fc.string({ minLength: min, maxLength: upper }) },
      {
        weight: 2,
        arbitrary: fc.string({ unit: 'grapheme', minLength: min, maxLength: upper }),
      },
      // exactly at the bound: the longest value the schema accepts
      { weight: 1, arbitrary: fc.constant('x'.repeat(max)) },
    );
  }
  // Hostile strings the schema still accepts (a cursor of 2^63, a "NaN", an RTL override) are
  // the ones that reach the handlers and the database: they are valid values too.
  const hostile = NASTY_STRINGS.filter((s) => fitsString(schema, s));
  const options = [{ weight: 2, arbitrary: generated }];
  if (fitting.length > 0) options.push({ weight: 3, arbitrary: fc.constantFrom(...fitting) });
  if (hostile.length > 0) options.push({ weight: 1, arbitrary: fc.constantFrom(...hostile) });
  const numeric = NUMERIC_EDGE_STRINGS.filter((s) => fitsString(schema, s));
  if (numeric.length > 0) options.push({ weight: 1, arbitrary: fc.constantFrom(...numeric) });
  return options.length === 1 ? generated : fc.oneof(...options);
}

function numberArb(schema: JsonSchema, integer: boolean): fc.Arbitrary<number> {
  const min =
    schema.minimum ??
    (schema.exclusiveMinimum !== undefined
      ? schema.exclusiveMinimum + (integer ? 1 : 1e-9)
      : -LIMIT);
  const max =
    schema.maximum ??
    (schema.exclusiveMaximum !== undefined
      ? schema.exclusiveMaximum - (integer ? 1 : 1e-9)
      : LIMIT);
  const edges = fc.constantFrom(min, max);
  return fc.oneof(
    {
      weight: 4,
      arbitrary: integer ? fc.integer({ min, max }) : fc.double({ min, max, noNaN: true }),
    },
    { weight: 1, arbitrary: edges },
  );
}

function objectArb(schema: JsonSchema, dict: Dictionary, depth: number): fc.Arbitrary<unknown> {
  const props = schema.properties ?? {};
  const required = new Set(schema.required ?? []);
  const model: Record<string, fc.Arbitrary<unknown>> = {};
  for (const [name, sub] of Object.entries(props))
    model[name] = valid(sub, narrow(dict, name), depth + 1);
  const record = fc.record(model, { requiredKeys: [...required].filter((k) => k in model) });
  const extra = schema.additionalProperties;
  if (extra && typeof extra === 'object') {
    const keys = schema.propertyNames
      ? (stringArb(schema.propertyNames, dict) as fc.Arbitrary<string>)
      : fc.string({ minLength: 1, maxLength: 20 });
    const dictionary = fc.dictionary(keys, valid(extra, dict, depth + 1), { maxKeys: SMALL });
    return fc
      .tuple(record, dictionary)
      .map(([r, d]) => Object.assign(Object.create(null), d, r) as Record<string, unknown>)
      .map((o) => ({ ...o }));
  }
  return record;
}

/** A value the schema accepts (as far as this subset can tell). */
export function valid(schema: JsonSchema, dict: Dictionary, depth = 0): fc.Arbitrary<unknown> {
  if (schema.const !== undefined) return fc.constant(schema.const);
  if (schema.enum) return fc.constantFrom(...schema.enum);
  const alternatives = schema.anyOf ?? schema.oneOf;
  if (alternatives) return fc.oneof(...alternatives.map((s) => valid(s, dict, depth + 1)));
  if (schema.allOf) return valid(Object.assign({}, ...schema.allOf), dict, depth);
  const types = typesOf(schema);
  if (types.length > 1)
    return fc.oneof(...types.map((type) => valid({ ...schema, type }, dict, depth)));
  switch (types[0]) {
    case 'string':
      return stringArb(schema, dict);
    case 'integer':
      return numberArb(schema, true);
    case 'number':
      return numberArb(schema, false);
    case 'boolean':
      return fc.boolean();
    case 'null':
      return fc.constant(null);
    case 'array': {
      const minLength = schema.minItems ?? 0;
      const maxLength = Math.min(schema.maxItems ?? SMALL, minLength + SMALL);
      const items = valid(schema.items ?? {}, dict, depth + 1);
      return fc.array(items, { minLength, maxLength });
    }
    case 'object':
      return objectArb(schema, dict, depth);
    default:
      return depth > 3 ? fc.constant(null) : fc.jsonValue({ maxDepth: 2 });
  }
}

// ---------------------------------------------------------------------------------------------
// Mutations: one broken thing per value.

const deep = (levels: number, leaf: unknown = 1): unknown => {
  let v: unknown = leaf;
  for (let i = 0; i < levels; i++) v = i % 2 ? [v] : { a: v };
  return v;
};

// Big values are made once and shared by every schema node (they are only ever serialised).
const DEEP = deep(500);
const HUGE_ASCII = 'x'.repeat(100_000);
const HUGE_UNICODE = 'é'.repeat(40_000);
const HUGE_NUMBERS = Array.from({ length: 100_000 }, () => 1);
const HUGE_STRINGS = Array.from({ length: 20_000 }, (_, i) => `x${i}`);
const HUGE_OBJECT = Object.fromEntries(Array.from({ length: 20_000 }, (_, i) => [`k${i}`, i]));

/** A value of another kind than the schema wants (or a kind no schema wants). */
function wrongType(schema: JsonSchema): fc.Arbitrary<unknown> {
  const types = new Set(typesOf(schema));
  const options: fc.Arbitrary<unknown>[] = [];
  if (!types.has('string')) options.push(fc.constantFrom('', 'x', '1', 'true', 'null', '[]'));
  if (!types.has('integer') && !types.has('number')) options.push(fc.constantFrom(...EDGE_NUMBERS));
  if (!types.has('boolean')) options.push(fc.boolean());
  if (!types.has('null')) options.push(fc.constant(null));
  if (!types.has('array')) options.push(fc.constantFrom([], [1], [null], ['x']));
  if (!types.has('object')) options.push(fc.constantFrom({}, { a: 1 }, { __proto__: 1 }));
  options.push(fc.constant(DEEP));
  return fc.oneof(...options);
}

function brokenString(schema: JsonSchema): fc.Arbitrary<unknown> {
  const max = schema.maxLength;
  const options: fc.Arbitrary<unknown>[] = [
    fc.constantFrom(...NASTY_STRINGS),
    fc.string({ unit: 'binary', maxLength: 40 }),
    fc.constant(HUGE_ASCII),
    fc.constant(HUGE_UNICODE),
  ];
  if (max !== undefined) {
    options.push(fc.constant('x'.repeat(max + 1)), fc.constant('😀'.repeat(max)));
  }
  if (schema.minLength) options.push(fc.constant('x'.repeat(schema.minLength - 1)));
  return fc.oneof(...options);
}

function brokenNumber(schema: JsonSchema, integer: boolean): fc.Arbitrary<unknown> {
  const options: fc.Arbitrary<unknown>[] = [fc.constantFrom(...EDGE_NUMBERS)];
  if (schema.minimum !== undefined) options.push(fc.constant(schema.minimum - 1));
  if (schema.maximum !== undefined) options.push(fc.constant(schema.maximum + 1));
  if (integer) options.push(fc.double({ noNaN: true, noDefaultInfinity: true }));
  options.push(fc.constantFrom('1', 'NaN', '1e21'));
  return fc.oneof(...options);
}

function brokenArray(schema: JsonSchema, dict: Dictionary, depth: number): fc.Arbitrary<unknown> {
  const items = schema.items ?? {};
  const options: fc.Arbitrary<unknown>[] = [
    // one element broken, the rest valid
    fc
      .tuple(
        fc.array(valid(items, dict, depth + 1), { maxLength: 3 }),
        invalid(items, dict, depth + 1),
      )
      .map(([ok, bad]) => [...ok, bad]),
    // far past any sane bound: the shape of the grantable_at defect (issue 10 #5)
    fc.constantFrom(HUGE_NUMBERS, HUGE_STRINGS),
  ];
  if (schema.maxItems !== undefined)
    options.push(
      fc.array(valid(items, dict, depth + 1), {
        minLength: schema.maxItems + 1,
        maxLength: schema.maxItems + 1,
      }),
    );
  if (schema.minItems) options.push(fc.constant([]));
  return fc.oneof(...options);
}

function brokenObject(schema: JsonSchema, dict: Dictionary, depth: number): fc.Arbitrary<unknown> {
  const base = valid(schema, dict, depth) as fc.Arbitrary<Record<string, unknown>>;
  const props = Object.keys(schema.properties ?? {});
  const options: fc.Arbitrary<unknown>[] = [
    base.map((o) => ({ ...o, unexpected_field: 'x' })),
    base.map((o) =>
      JSON.parse(
        `{"__proto__":{"polluted":1},"constructor":{"prototype":{}},${JSON.stringify(o).slice(1)}`.replace(
          /,}$/,
          '}',
        ),
      ),
    ),
    base.map((o) => ({ ...o, nested: DEEP })),
  ];
  if (props.length > 0)
    options.push(
      fc.tuple(base, fc.constantFrom(...props)).chain(([o, key]) =>
        invalid(schema.properties![key]!, narrow(dict, key), depth + 1).map((bad) => ({
          ...o,
          [key]: bad,
        })),
      ),
    );
  for (const key of schema.required ?? [])
    options.push(
      base.map((o) => {
        const copy = { ...o };
        delete copy[key];
        return copy;
      }),
    );
  if (schema.additionalProperties && typeof schema.additionalProperties === 'object')
    options.push(fc.constant(HUGE_OBJECT));
  return fc.oneof(...options);
}

/** A value that breaks the schema in exactly one place (or breaks the whole value's kind). */
export function invalid(schema: JsonSchema, dict: Dictionary, depth = 0): fc.Arbitrary<unknown> {
  if (depth > 4) return wrongType(schema);
  const alternatives = schema.anyOf ?? schema.oneOf;
  if (alternatives)
    return fc.oneof(wrongType(schema), ...alternatives.map((s) => invalid(s, dict, depth + 1)));
  if (schema.enum)
    return fc.oneof(
      fc.constantFrom(
        '',
        'not-in-enum',
        `${String(schema.enum[0])} `,
        String(schema.enum[0]).toUpperCase(),
      ),
      wrongType({ type: typeof schema.enum[0] }),
    );
  const types = typesOf(schema);
  const own: fc.Arbitrary<unknown>[] = [];
  for (const type of types) {
    if (type === 'string') own.push(brokenString(schema));
    else if (type === 'integer') own.push(brokenNumber(schema, true));
    else if (type === 'number') own.push(brokenNumber(schema, false));
    else if (type === 'array') own.push(brokenArray(schema, dict, depth));
    else if (type === 'object') own.push(brokenObject(schema, dict, depth));
  }
  return fc.oneof(
    { weight: 1, arbitrary: wrongType(schema) },
    ...own.map((arbitrary) => ({ weight: 3, arbitrary })),
  );
}

/** How a query or path value is written: numbers and booleans as text, arrays as repeats. */
export function asParameterText(value: unknown): string | string[] {
  if (Array.isArray(value))
    return value.map((v) => (typeof v === 'string' ? v : JSON.stringify(v)));
  if (typeof value === 'string') return value;
  if (value === undefined) return '';
  return typeof value === 'number' || typeof value === 'boolean'
    ? String(value)
    : JSON.stringify(value);
}

/** Broken text for a query or path parameter: what a URL can carry that no schema allows. */
export function invalidParameterText(
  schema: JsonSchema,
  dict: Dictionary,
): fc.Arbitrary<string | string[]> {
  return fc.oneof(
    { weight: 3, arbitrary: invalid(schema, dict).map(asParameterText) },
    {
      weight: 2,
      arbitrary: fc.constantFrom(
        '9223372036854775808',
        '1e21',
        '-1',
        '0',
        'NaN',
        '1.5',
        '',
        'x'.repeat(5_000),
        '%',
        '%zz',
        '%ff%fe',
      ),
    },
    {
      weight: 1,
      arbitrary: fc.array(fc.constantFrom('1', 'a', ''), { minLength: 2, maxLength: 3 }),
    },
  );
}
