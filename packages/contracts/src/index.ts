export * from './auth';
export * from './common';
export * from './errors';
export * from './invitations';
export * from './keys-audit';
export * from './me';
export * from './organizations';
export * from './sign-in';
