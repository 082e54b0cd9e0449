export * from './credentials';
export * from './verifier';
