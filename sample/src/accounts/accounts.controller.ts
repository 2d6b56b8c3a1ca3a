import { Body, Controller, Get, Param, ParseIntPipe, Post } from '@nestjs/common';
import { ReadOnly } from 'nestjs-mysql-connection';
import { AccountsService, type Account } from './accounts.service.js';
import { ParseBodyPipe } from './dto/body.js';
import { parseCreateAccount, type CreateAccountDto } from './dto/create-account.dto.js';

@Controller('accounts')
export class AccountsController {
  constructor(private readonly accounts: AccountsService) {}

  @Post()
  create(@Body(new ParseBodyPipe(parseCreateAccount)) dto: CreateAccountDto): Promise<Account> {
    return this.accounts.create(dto);
  }

  /** Reads from a replica when the app has some (MYSQL_REPLICA_URLS); else the primary. */
  @ReadOnly()
  @Get()
  list(): Promise<Account[]> {
    return this.accounts.list();
  }

  @Get(':id')
  get(@Param('id', ParseIntPipe) id: number): Promise<Account> {
    return this.accounts.get(id);
  }
}
