// Structured logs with pino. `serve` logs to stderr (stdout carries the ready line); an embedded
// server is quiet unless asked.
import pino from 'pino';
import type { Logger } from '../protocol/session-context.ts';

export type LogLevel = 'silent' | 'error' | 'warn' | 'info' | 'debug';

export function createLogger(level: LogLevel): Logger {
  return pino({ level, base: { svc: 'tegami' } }, pino.destination(2));
}
