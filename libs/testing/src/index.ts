export * from './postgres';
export * from './stix';
export * from './kube';
export * from './stix1';
export * from './probe';
