import { ConflictException, Injectable, NotFoundException } from '@nestjs/common';
import type { ResultSetHeader, RowDataPacket } from 'mysql2';
import { Connection } from 'nestjs-mysql-connection';
import type { CreateAccountDto } from './dto/create-account.dto.js';
import type { CreateTransferDto } from './dto/create-transfer.dto.js';

/** An account; amounts are whole cents. */
export interface Account {
  id: number;
  owner: string;
  balance: number;
}

/** A completed transfer and the balances it left. */
export interface Transfer {
  id: number;
  from: number;
  to: number;
  amount: number;
  balances: { from: number; to: number };
}

interface AccountRow extends RowDataPacket {
  id: number;
  owner: string;
  balance: number | string;
}

/**
 * Accounts and transfers. Injects the request's `Connection`, so every statement of one request
 * runs on one server connection, which is what makes the transaction in `transfer()` work.
 */
@Injectable()
export class AccountsService {
  constructor(private readonly conn: Connection) {}

  async create({ owner, balance }: CreateAccountDto): Promise<Account> {
    const [res] = await this.conn.execute<ResultSetHeader>(
      'INSERT INTO accounts (owner, balance) VALUES (?, ?)',
      [owner, balance],
    );
    return { id: res.insertId, owner, balance };
  }

  async list(): Promise<Account[]> {
    const [rows] = await this.conn.query<AccountRow[]>(
      'SELECT id, owner, balance FROM accounts ORDER BY id',
    );
    return rows.map(toAccount);
  }

  async get(id: number): Promise<Account> {
    const [rows] = await this.conn.execute<AccountRow[]>(
      'SELECT id, owner, balance FROM accounts WHERE id = ?',
      [id],
    );
    if (rows.length === 0) throw accountNotFound(id);
    return toAccount(rows[0]);
  }

  /**
   * Moves money between two accounts, all or nothing. Needs a transaction around it: the
   * controller's `@Transactional()` makes every statement of the request (this service's and any
   * other's) one transaction, committed when the handler returns, rolled back when it throws.
   */
  async transfer({ from, to, amount }: CreateTransferDto): Promise<Transfer> {
    const balances = new Map<number, number>();
    // Rows are locked one statement at a time in ascending id order, so two transfers touching
    // the same accounts (in either direction) queue on the same first row instead of each
    // holding one row and waiting for the other: no deadlock. One `IN (...) FOR UPDATE` would
    // leave the lock order to the optimizer.
    for (const id of [from, to].toSorted((a, b) => a - b)) {
      const [rows] = await this.conn.execute<AccountRow[]>(
        'SELECT id, owner, balance FROM accounts WHERE id = ? FOR UPDATE',
        [id],
      );
      if (rows.length === 0) throw accountNotFound(id);
      balances.set(id, Number(rows[0].balance));
    }
    const available = balances.get(from)!;
    if (available < amount) {
      throw new ConflictException(
        `Insufficient funds: account ${from} has ${available}, the transfer needs ${amount}.`,
      );
    }
    await this.conn.execute('UPDATE accounts SET balance = balance - ? WHERE id = ?', [
      amount,
      from,
    ]);
    await this.conn.execute('UPDATE accounts SET balance = balance + ? WHERE id = ?', [amount, to]);
    const [res] = await this.conn.execute<ResultSetHeader>(
      'INSERT INTO transfers (from_id, to_id, amount) VALUES (?, ?, ?)',
      [from, to, amount],
    );
    return {
      id: res.insertId,
      from,
      to,
      amount,
      balances: { from: available - amount, to: balances.get(to)! + amount },
    };
  }
}

function toAccount(row: AccountRow): Account {
  return { id: row.id, owner: row.owner, balance: Number(row.balance) };
}

function accountNotFound(id: number): NotFoundException {
  return new NotFoundException(`Account ${id} not found.`);
}
