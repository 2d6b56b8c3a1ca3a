import { describe, expect, it } from '@jest/globals';
import { DbConfigError, DbModule } from 'nestjs-mysql-connection';

describe('option validation', () => {
  it.each([
    [{ acquireTimeout: -1 }, /"acquireTimeout": got -1, expected a number of milliseconds >= 1/],
    [{ shutdownTimeout: Number.NaN }, /"shutdownTimeout"/],
    [{ connectionLimit: 0 }, /"connectionLimit": got 0, expected an integer >= 1/],
    [{ queueLimit: 1.5 }, /"queueLimit"/],
    [{ retryAttempts: 0 }, /"retryAttempts"/],
    [{ retryDelay: -5 }, /"retryDelay"/],
    [{ name: '' }, /"name"/],
    [{ registerInterceptor: 'yes' }, /"registerInterceptor"/],
    [{ logger: 'no' }, /"logger": got "no", expected true or false/],
    [{ waitForConnections: false }, /"waitForConnections": this module manages waiting/],
    [{ resetOnRelease: true }, /"resetOnRelease"/],
  ])('forRoot(%p) throws a DbConfigError naming the option', (options, message) => {
    const call = () => DbModule.forRoot(options as never);
    expect(call).toThrow(DbConfigError);
    expect(call).toThrow(message);
  });

  it('never echoes a malformed uri (it may hold a password)', () => {
    const call = () => DbModule.forRoot({ uri: 'not a url with s3cret' });
    expect(call).toThrow(/"uri": got "\(hidden\)"/);
    expect(call).not.toThrow(/s3cret/);
  });
});
