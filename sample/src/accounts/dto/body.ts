import { BadRequestException, type PipeTransform } from '@nestjs/common';

/** Largest amount accepted, in cents: sums of many stay exact in a JS number and in BIGINT. */
export const MAX_AMOUNT = 1_000_000_000_000;

export function objectBody(body: unknown): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new BadRequestException('Expected a JSON object body.');
  }
  return body as Record<string, unknown>;
}

export function wholeNumber(field: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new BadRequestException(`"${field}" must be a whole number from ${min} to ${max}.`);
  }
  return value;
}

/** Validates a body with a hand-written parser (no class-validator in this sample). */
export class ParseBodyPipe<T> implements PipeTransform<unknown, T> {
  constructor(private readonly parse: (body: unknown) => T) {}

  transform(body: unknown): T {
    return this.parse(body);
  }
}
