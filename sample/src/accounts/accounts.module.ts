import { Module } from '@nestjs/common';
import { AccountsController } from './accounts.controller.js';
import { AccountsSchema } from './accounts.schema.js';
import { AccountsService } from './accounts.service.js';
import { TransfersController } from './transfers.controller.js';

@Module({
  controllers: [AccountsController, TransfersController],
  providers: [AccountsService, AccountsSchema],
})
export class AccountsModule {}
