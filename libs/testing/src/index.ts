export * from './postgres';
export * from './stix';
export * from './kube';
export * from './stix1';
export * from './probe';
export * from './memory-object-store';
export * from './object-store-contract';
