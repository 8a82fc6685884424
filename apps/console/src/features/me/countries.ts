/**
 * Calling codes for the mobile number picker (E.164 = "+" code + national number). The most
 * used first; "Other" lets anyone type a full international number.
 */
export const COUNTRIES: { code: string; name: string; dial: string }[] = [
  { code: 'US', name: 'United States', dial: '1' },
  { code: 'CA', name: 'Canada', dial: '1' },
  { code: 'GB', name: 'United Kingdom', dial: '44' },
  { code: 'DE', name: 'Germany', dial: '49' },
  { code: 'FR', name: 'France', dial: '33' },
  { code: 'NL', name: 'Netherlands', dial: '31' },
  { code: 'BE', name: 'Belgium', dial: '32' },
  { code: 'CH', name: 'Switzerland', dial: '41' },
  { code: 'AT', name: 'Austria', dial: '43' },
  { code: 'ES', name: 'Spain', dial: '34' },
  { code: 'PT', name: 'Portugal', dial: '351' },
  { code: 'IT', name: 'Italy', dial: '39' },
  { code: 'IE', name: 'Ireland', dial: '353' },
  { code: 'DK', name: 'Denmark', dial: '45' },
  { code: 'SE', name: 'Sweden', dial: '46' },
  { code: 'NO', name: 'Norway', dial: '47' },
  { code: 'FI', name: 'Finland', dial: '358' },
  { code: 'PL', name: 'Poland', dial: '48' },
  { code: 'CZ', name: 'Czechia', dial: '420' },
  { code: 'GR', name: 'Greece', dial: '30' },
  { code: 'TR', name: 'Türkiye', dial: '90' },
  { code: 'IL', name: 'Israel', dial: '972' },
  { code: 'AE', name: 'United Arab Emirates', dial: '971' },
  { code: 'SA', name: 'Saudi Arabia', dial: '966' },
  { code: 'IN', name: 'India', dial: '91' },
  { code: 'SG', name: 'Singapore', dial: '65' },
  { code: 'JP', name: 'Japan', dial: '81' },
  { code: 'KR', name: 'South Korea', dial: '82' },
  { code: 'CN', name: 'China', dial: '86' },
  { code: 'HK', name: 'Hong Kong', dial: '852' },
  { code: 'TW', name: 'Taiwan', dial: '886' },
  { code: 'AU', name: 'Australia', dial: '61' },
  { code: 'NZ', name: 'New Zealand', dial: '64' },
  { code: 'BR', name: 'Brazil', dial: '55' },
  { code: 'MX', name: 'Mexico', dial: '52' },
  { code: 'AR', name: 'Argentina', dial: '54' },
  { code: 'CL', name: 'Chile', dial: '56' },
  { code: 'CO', name: 'Colombia', dial: '57' },
  { code: 'ZA', name: 'South Africa', dial: '27' },
  { code: 'NG', name: 'Nigeria', dial: '234' },
  { code: 'KE', name: 'Kenya', dial: '254' },
  { code: 'EG', name: 'Egypt', dial: '20' },
  { code: 'UA', name: 'Ukraine', dial: '380' },
];

/** Splits a stored E.164 number into the picker's country and the national part. */
export function splitE164(e164: string | null | undefined): { country: string; national: string } {
  if (!e164) return { country: 'US', national: '' };
  const digits = e164.replace(/^\+/, '');
  const match = [...COUNTRIES]
    .sort((a, b) => b.dial.length - a.dial.length)
    .find((c) => digits.startsWith(c.dial));
  if (!match) return { country: 'OTHER', national: e164 };
  return { country: match.code, national: digits.slice(match.dial.length) };
}

/** Joins the picker's parts into E.164, or null when the number is empty. */
export function joinE164(country: string, national: string): string | null {
  const trimmed = national.replace(/[\s().-]/g, '');
  if (!trimmed) return null;
  if (country === 'OTHER' || trimmed.startsWith('+')) return trimmed;
  const dial = COUNTRIES.find((c) => c.code === country)?.dial ?? '';
  return `+${dial}${trimmed.replace(/^0+/, '')}`;
}
