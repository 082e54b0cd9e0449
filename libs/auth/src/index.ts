export * from './api-key';
export * from './credentials';
export * from './verifier';
