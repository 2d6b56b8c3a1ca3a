import { BadRequestException } from '@nestjs/common';
import { MAX_AMOUNT, objectBody, wholeNumber } from './body.js';

/** `POST /transfers`: move `amount` cents from account `from` to account `to`. */
export interface CreateTransferDto {
  from: number;
  to: number;
  amount: number;
}

export function parseCreateTransfer(body: unknown): CreateTransferDto {
  const { from, to, amount } = objectBody(body);
  const dto = {
    from: wholeNumber('from', from, 1, 2 ** 32 - 1),
    to: wholeNumber('to', to, 1, 2 ** 32 - 1),
    amount: wholeNumber('amount', amount, 1, MAX_AMOUNT),
  };
  if (dto.from === dto.to) throw new BadRequestException('"from" and "to" must differ.');
  return dto;
}
