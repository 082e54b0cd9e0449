export * from './api-metrics';
export * from './operator-metrics';
