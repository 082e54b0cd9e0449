export * from './access-limiter';
export * from './rate-limit';
export * from './api-key';
export * from './credentials';
export * from './verifier';
export * from './jwt';
