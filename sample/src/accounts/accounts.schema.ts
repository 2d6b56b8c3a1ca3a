import { Injectable, type OnModuleInit } from '@nestjs/common';
import { DbPool } from 'nestjs-mysql-connection';

/** Creates the tables at start; idempotent, so restarts and several instances are fine. */
@Injectable()
export class AccountsSchema implements OnModuleInit {
  constructor(private readonly pool: DbPool) {}

  async onModuleInit(): Promise<void> {
    await this.pool.withConnection(async (conn) => {
      await conn.query(`
        CREATE TABLE IF NOT EXISTS accounts (
          id INT UNSIGNED AUTO_INCREMENT PRIMARY KEY,
          owner VARCHAR(100) NOT NULL,
          balance BIGINT NOT NULL,
          created_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
          CONSTRAINT balance_not_negative CHECK (balance >= 0)
        ) ENGINE=InnoDB`);
      await conn.query(`
        CREATE TABLE IF NOT EXISTS transfers (
          id BIGINT UNSIGNED AUTO_INCREMENT PRIMARY KEY,
          from_id INT UNSIGNED NOT NULL,
          to_id INT UNSIGNED NOT NULL,
          amount BIGINT NOT NULL,
          created_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
          FOREIGN KEY (from_id) REFERENCES accounts (id),
          FOREIGN KEY (to_id) REFERENCES accounts (id)
        ) ENGINE=InnoDB`);
    });
  }
}
