import { describe, expect, it } from 'vitest';
import { Email } from './common';

// @see issue 10 #23 (email validation refuses valid addresses such as zoë@…) and #10 (what a
// provider may smuggle in an address)
describe('Email', () => {
  it.each([
    ['zoë@example.com', 'zoë@example.com'],
    ['ZOË@Example.COM ', 'zoë@example.com'],
    ['zoe\u0308@example.com', 'zoë@example.com'], // decomposed ë: one person with the composed one
    ['user@bücher.de', 'user@bücher.de'],
    ['user@xn--bcher-kva.de', 'user@xn--bcher-kva.de'],
    ['用户@例子.广告', '用户@例子.广告'],
    ['a.b+tag@sub.example.co', 'a.b+tag@sub.example.co'],
    ["o'neil@example.com", "o'neil@example.com"],
  ])('accepts %j', (input, stored) => {
    expect(Email.parse(input)).toBe(stored);
  });

  it.each([
    'a@x.com, b@evil.com',
    'Name <b@evil.com>',
    '<b@evil.com>',
    'a@x.com\r\nBcc: b@evil.com',
    'a@x.com\nb@evil.com',
    'a b@x.com',
    'a@ex ample.com',
    'ax.com',
    'a@@x.com',
    '"a"@x.com',
    'a(comment)@x.com',
    'a@-x.com',
    'a..b@x.com',
    '.a@x.com',
    'a@x',
    'a@x.123',
    'a@[127.0.0.1]',
    'a@x_y.com',
    `${'a'.repeat(65)}@x.com`,
  ])('refuses %j', (input) => {
    expect(Email.safeParse(input).success).toBe(false);
  });
});
