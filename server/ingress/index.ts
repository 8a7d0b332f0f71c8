// SMTP/LMTP ingress: final delivery into the store.
export { startIngress } from './ingress.ts';
export type { Ingress, IngressOptions } from './ingress.ts';
export { toCrlf } from './trace-headers.ts';
