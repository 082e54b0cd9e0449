export * from './postgres';
export * from './stix';
