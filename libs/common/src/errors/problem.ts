import { STATUS_CODES } from 'node:http';
import type { FieldError } from './domain-error';

/** An RFC 9457 problem details body, plus the `code` and `requestId` extension members. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance: string;
  requestId: string;
  code: string;
  errors?: FieldError[];
}

/** A problem to render, and the headers that go with it (Retry-After, WWW-Authenticate). */
export interface ProblemResponse {
  problem: Problem;
  headers: Record<string, string>;
}

export const PROBLEM_CONTENT_TYPE = 'application/problem+json; charset=utf-8';

/** `JOBS.NOT_FOUND` → `/problems/jobs.not-found`: stable, documented per code in the README. */
export function problemType(code: string): string {
  return `/problems/${code.toLowerCase().replace(/_/g, '-')}`;
}

export function statusTitle(status: number): string {
  return STATUS_CODES[status] ?? 'Error';
}
