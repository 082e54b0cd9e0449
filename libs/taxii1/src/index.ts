export * from './constants';
export * from './labels';
export * from './messages';
export * from './parse';
export * from './serialize';
export * from './xml';
