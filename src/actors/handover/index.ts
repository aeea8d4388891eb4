export * from './model';
export { createHandoverMachine, type HandoverMachine } from './machine';
