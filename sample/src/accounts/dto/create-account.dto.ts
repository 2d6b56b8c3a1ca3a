import { BadRequestException } from '@nestjs/common';
import { MAX_AMOUNT, objectBody, wholeNumber } from './body.js';

/** `POST /accounts`: a new account, its opening balance in cents (default 0). */
export interface CreateAccountDto {
  owner: string;
  balance: number;
}

export function parseCreateAccount(body: unknown): CreateAccountDto {
  const { owner, balance = 0 } = objectBody(body);
  if (typeof owner !== 'string' || owner.trim() === '' || owner.length > 100) {
    throw new BadRequestException('"owner" must be a non-empty string of at most 100 characters.');
  }
  return { owner: owner.trim(), balance: wholeNumber('balance', balance, 0, MAX_AMOUNT) };
}
