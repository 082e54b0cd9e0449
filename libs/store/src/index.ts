export * from './catalog-store';
export * from './data-source';
export * from './embedded';
export * from './entities';
export * from './object-store';
export * from './admin-store';
export * from './audit-store';
export * from './taxii1-store';
