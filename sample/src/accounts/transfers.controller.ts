import { Body, Controller, Post } from '@nestjs/common';
import { Transactional } from 'nestjs-mysql-connection';
import { AccountsService, type Transfer } from './accounts.service.js';
import { ParseBodyPipe } from './dto/body.js';
import { parseCreateTransfer, type CreateTransferDto } from './dto/create-transfer.dto.js';

@Controller('transfers')
export class TransfersController {
  constructor(private readonly accounts: AccountsService) {}

  /**
   * 201 with the new balances; 400 bad input, 404 unknown account, 409 insufficient funds (or a
   * deadlock still there after the retries). One transaction for the whole request; should the
   * server pick it as a deadlock victim, it runs again (up to 3 more times).
   */
  @Post()
  @Transactional({ retries: 3 })
  create(@Body(new ParseBodyPipe(parseCreateTransfer)) dto: CreateTransferDto): Promise<Transfer> {
    return this.accounts.transfer(dto);
  }
}
