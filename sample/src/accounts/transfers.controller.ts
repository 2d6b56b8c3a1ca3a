import { Body, Controller, Post } from '@nestjs/common';
import { AccountsService, type Transfer } from './accounts.service.js';
import { ParseBodyPipe } from './dto/body.js';
import { parseCreateTransfer, type CreateTransferDto } from './dto/create-transfer.dto.js';

@Controller('transfers')
export class TransfersController {
  constructor(private readonly accounts: AccountsService) {}

  /** 201 with the new balances; 400 bad input, 404 unknown account, 409 insufficient funds. */
  @Post()
  create(@Body(new ParseBodyPipe(parseCreateTransfer)) dto: CreateTransferDto): Promise<Transfer> {
    return this.accounts.transfer(dto);
  }
}
