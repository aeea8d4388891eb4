export * from './enums';
export * from './customers';
export * from './conversations';
export * from './tickets';
export * from './messages';
export * from './pipeline';
export * from './kpis';
export * from './privacy';
